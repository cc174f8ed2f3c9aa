package history

import (
	"bytes"
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkWriterAppend measures what recording one op costs a client: encoding it into the
// writer's buffer (the flusher writes and fsyncs in the background).
func BenchmarkWriterAppend(b *testing.B) {
	w, err := Create(filepath.Join(b.TempDir(), "history.jsonl"), time.Now())
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	op := Op{Process: 3, Type: OK, F: "cas", Key: "r17", Value: Value([2]int{3, 4}), Node: "n2",
		Meta: Value(map[string]any{"ts": int64(1764099999123456789), "origin": "n2"})}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := w.Append(op); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkReader measures reading writer-made lines back (the checkers' input path).
func BenchmarkReader(b *testing.B) {
	var buf bytes.Buffer
	for i := 0; i < 10000; i++ {
		op := Op{Index: int64(i), Time: int64(i) * 1000, Process: i % 50, Type: OK, F: "buy", Key: "s3",
			Value: Value("n2-1234"), Node: "n2", Req: "b7f3a9c2e1d04b66", Meta: Value(map[string]any{"retry": 1})}
		if err := appendLine(&buf, op); err != nil {
			b.Fatal(err)
		}
	}
	data := buf.Bytes()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r := NewReader(bytes.NewReader(data))
		for {
			if _, err := r.Next(); err != nil {
				break
			}
		}
	}
	b.ReportMetric(float64(10000*b.N)/b.Elapsed().Seconds(), "lines/s")
}
