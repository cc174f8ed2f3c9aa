package history

import (
	"bytes"
	"encoding/json"
	"testing"

	jsonv2 "github.com/go-json-experiment/json"
	gojson "github.com/goccy/go-json"
)

// BenchmarkDecoders compares ways of decoding one history line into an Op: the reader's own
// path (a hand-written scanner for the lines the Writer makes, encoding/json for the rest),
// encoding/json alone, and two libraries made for speed, github.com/go-json-experiment/json
// (the Go team's json/v2) and github.com/goccy/go-json. Each fills the same struct that tells an
// absent required field from a zero one and keeps value and meta raw.
//
//	go test ./history/ -run '^$' -bench Decoders -benchtime 2s -count 3
func BenchmarkDecoders(b *testing.B) {
	var lines [][]byte
	for i := 0; i < 10000; i++ {
		op := Op{Index: int64(i), Time: int64(i) * 1000, Process: i % 50, Type: OK, F: "buy", Key: "s3",
			Value: Value("n2-1234"), Node: "n2", Req: "b7f3a9c2e1d04b66", Meta: Value(map[string]any{"retry": 1})}
		var buf bytes.Buffer
		if err := appendLine(&buf, op); err != nil {
			b.Fatal(err)
		}
		lines = append(lines, bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
	}
	withRaw := func(unmarshal func([]byte, any) error) func([]byte) (Op, error) {
		return func(line []byte) (Op, error) {
			var r raw
			if err := unmarshal(line, &r); err != nil {
				return Op{}, err
			}
			return Op{Index: *r.Index, Time: *r.Time, Process: *r.Process, Type: *r.Type, F: *r.F,
				Key: r.Key, Value: r.Value, Node: r.Node, Req: r.Req, Error: r.Error, Meta: r.Meta}, nil
		}
	}
	for _, d := range []struct {
		name  string
		parse func([]byte) (Op, error)
	}{
		{"reader", ParseLine},
		{"encoding-json", withRaw(json.Unmarshal)},
		{"json-v2-experiment", withRaw(func(b []byte, v any) error { return jsonv2.Unmarshal(b, v) })},
		{"goccy-go-json", withRaw(gojson.Unmarshal)},
	} {
		b.Run(d.name, func(b *testing.B) {
			want, _ := ParseLine(lines[1])
			if got, err := d.parse(lines[1]); err != nil || got.Index != want.Index || got.Req != want.Req || !bytes.Equal(got.Meta, want.Meta) {
				b.Fatalf("%s decodes %s as %+v (%v)", d.name, lines[1], got, err)
			}
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				if _, err := d.parse(lines[n%len(lines)]); err != nil {
					b.Fatal(err)
				}
				n++
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "lines/s")
		})
	}
}
