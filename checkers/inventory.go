package checkers

import (
	"cmp"
	"context"
	"encoding/binary"
	"fmt"
	"hash/maphash"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/crossfire-dev/crossfire/history"
)

// The inventory checkers judge the flash sale from what buyers were told and from the order
// rows every leader shows in its final reads (read-orders ops whose invoke carries meta
// "final": true, or the last successful ones at each leader). A request's identity is its
// idempotency id: the buyer who retried a purchase wants one order, whichever attempt made it.
// A row's identity is the leader that took it and its order id together: a store may number
// orders with a sequence of each leader's own, as SQL does (HISTORY.md).

// Names of the inventory checkers.
const (
	DedupName    = "dedup"
	OversellName = "oversell"
)

// row is an order row as read-orders returns it.
type row struct {
	Order string `json:"order"`
	SKU   string `json:"sku"`
	Qty   int64  `json:"qty"`
	Req   string `json:"req"`
	Node  string `json:"node"`
}

// rowID identifies an order row: the leader that took it and the id it gave.
type rowID struct{ node, order string }

func (id rowID) String() string {
	if id.node == "" {
		return id.order
	}
	return id.order + "@" + id.node
}

// toldID is an order id as one request was told it.
type toldID struct{ req, order string }

// buyer is everything one idempotency id's attempts came to. Buyers lie side by side in chunks
// (buyerList), numbered as saleFacts.reqs numbers their requests, and hold no pointer: a million
// of them are a few allocations, never copied as they grow, and nothing the garbage collector
// follows.
type buyer struct {
	ops            [6]int64 // the first invokes and completions
	nOps           uint8
	ok, fail, info uint16
	nodes          uint16 // leaders the attempts went to, as bits (see leaders)
	told           strRef // the first order id the buyer was told, in saleFacts.told
	nTold          uint16 // how many different ones
	sale           okSale // the first ok buy that was told order told (toldOK: any other order's)
	hasSale        bool
	rows, lastRow  int32 // its order rows: the first and last in saleFacts.rowList, 1-based, linked by next
	first, last    int64 // times of the first invoke and the last completion
	sku            int32 // the SKU of its first attempt, in saleFacts.skuNames
}

const maxEvidence = 12 // ops listed per anomaly

func (b *buyer) add(idx int64) {
	if int(b.nOps) < len(b.ops) {
		b.ops[b.nOps] = idx
		b.nOps++
	}
}

func (b *buyer) evidence() []int64 { return append([]int64(nil), b.ops[:b.nOps]...) }

// leaders numbers the leader names a history mentions, for buyer.nodes.
type leaders struct {
	names []string
	index map[string]int
}

func (l *leaders) bit(node string) uint16 {
	if i := l.number(node); i < 16 {
		return 1 << i
	}
	return 0
}

// number is a leader's number, from 0 in the order the history names them.
func (l *leaders) number(node string) int {
	if l.index == nil {
		l.index = map[string]int{}
	}
	i, ok := l.index[node]
	if !ok {
		i = len(l.names)
		l.index[node] = i
		l.names = append(l.names, node)
	}
	return i
}

// name is leader number i's name ("" for -1, no leader).
func (l *leaders) name(i int32) string {
	if i < 0 || int(i) >= len(l.names) {
		return ""
	}
	return l.names[i]
}

func (l *leaders) of(bits uint16) []string {
	var out []string
	for i, n := range l.names {
		if i < 16 && bits&(1<<i) != 0 {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

func addUnique(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}

// firstOps caps a list of evidence.
func firstOps(ops []int64) []int64 {
	return append([]int64(nil), ops[:min(len(ops), maxEvidence)]...)
}

// saleOpen is an op in flight: its invoke, and for a buy its buyer (found once, at the invoke).
type saleOpen struct {
	inv history.Op
	b   int32 // a buy's buyer, in saleFacts.buyers
}

// buyerChunk is how many buyers one chunk of buyerList holds.
const buyerChunk = 1 << 12

// buyerList holds buyers in chunks of buyerChunk, so that adding one never copies the others.
type buyerList struct {
	chunks [][]buyer
	n      int32
}

func (l *buyerList) add(b buyer) int32 {
	if int(l.n)%buyerChunk == 0 {
		l.chunks = append(l.chunks, make([]buyer, 0, buyerChunk))
	}
	c := &l.chunks[len(l.chunks)-1]
	*c = append(*c, b)
	l.n++
	return l.n - 1
}

func (l *buyerList) at(i int32) *buyer { return &l.chunks[i/buyerChunk][i%buyerChunk] }

// saleFacts is what both inventory checkers gather: buyers, restocks and final order rows.
type saleFacts struct {
	p        history.Matcher[saleOpen] // each process's op in flight
	nodeBits leaders
	w        windowTracker
	reqs     *idTable  // every request's id, numbered: buyer i sent request i
	buyers   buyerList // by request number
	told     arena     // the order ids buyers were told (buyer.told)
	rows     *idTable  // every distinct order row in any final read (rowKey), numbered as in rowList
	rowList  []orderRow
	rowKey   []byte              // scratch for the rows' keys while the final reads are taken in
	phantom  map[string][]int32  // req -> the rows of a request no buyer sent
	finalOps map[string][]int64  // sku -> final read-orders completions
	finalAt  map[string][]string // sku -> the leaders whose final read-orders answered
	toldOK   map[toldID]okSale   // the first ok buy that was told each order id but its buyer's first (buyer.sale)
	skuIndex map[string]int32
	skuNames []string
	restock  map[string]*restocks
	seenRows map[uint64]int // hashes of final read-orders values already taken in: the pick that had it
	// The stock ledgers (ledger.go): each final read-stock that carried one, the acknowledged
	// restocks that named themselves, and each final pick's order rows and completion.
	ledgers    []ledgerRead
	okRestocks []okRestock
	pickRows   [][]row
	pickIndex  []int64
	fr         finalReads
	finalRule  string
	any        bool // an inventory op was seen
	finished   bool
	bad        []string // values that could not be read
}

type okSale struct {
	index, invokeTime, time int64
	node                    int32 // the leader it was invoked at, by leaders.number
}

type restocks struct {
	ok, info int64 // units
	ops      []int64
	events   []stockChange // restocks that may have taken effect, at their invoke times
	final    map[string]int64
	finalOps []int64
}

// rowsSeed hashes read-orders values, to take in each distinct one once.
var rowsSeed = maphash.MakeSeed()

func newSaleFacts(faults *history.Faults) *saleFacts {
	return &saleFacts{w: windowTracker{faults: faults}, reqs: newIDTable(), rows: newIDTable(), phantom: map[string][]int32{},
		finalOps: map[string][]int64{}, finalAt: map[string][]string{}, toldOK: map[toldID]okSale{}, skuIndex: map[string]int32{},
		restock: map[string]*restocks{}, seenRows: map[uint64]int{}}
}

func (s *saleFacts) restocksOf(sku string) *restocks {
	r := s.restock[sku]
	if r == nil {
		r = &restocks{}
		s.restock[sku] = r
	}
	return r
}

func (s *saleFacts) observe(op history.Op) {
	s.w.observe(op)
	if op.IsNemesis() {
		return
	}
	if op.Type == history.Invoke {
		switch op.F {
		case "buy":
			i, h := s.reqs.find(op.Req)
			if i < 0 {
				s.reqs.add(op.Req, h)
				i = s.buyers.add(buyer{first: op.Time, sku: s.skuOf(op.Key)})
			}
			b := s.buyers.at(i)
			b.add(op.Index)
			b.nodes |= s.nodeBits.bit(op.Node)
			s.p.Invoke(op, saleOpen{op, i})
		case "restock", "read-orders", "read-stock":
			s.p.Invoke(op, saleOpen{inv: op})
		default:
			return // nothing these checkers judge: no need to pair it
		}
		s.any = true
		return
	}
	open, ok := s.p.Complete(op)
	if !ok {
		return
	}
	s.complete(open, op)
}

// complete handles one finished op (done.Index is -1 for a pending invoke read as info).
func (s *saleFacts) complete(open saleOpen, done history.Op) {
	inv := open.inv
	switch inv.F {
	case "buy":
		b := s.buyers.at(open.b)
		if done.Index >= 0 {
			b.add(done.Index)
		}
		b.last = max(b.last, done.Time)
		switch done.Type {
		case history.OK:
			b.ok++
			if id, ok := jsonString(done.Value); ok && id != "" {
				if b.nTold == 0 {
					b.told = s.told.add(id)
					b.nTold++
				} else if !s.told.is(b.told, id) {
					b.nTold++
				}
				// The sale happened before the first acknowledgement that named it.
				sale := okSale{index: done.Index, invokeTime: inv.Time, time: done.Time, node: int32(s.nodeBits.number(inv.Node))}
				if s.told.is(b.told, id) {
					if !b.hasSale || done.Time < b.sale.time {
						b.sale, b.hasSale = sale, true
					}
				} else if prev, seen := s.toldOK[toldID{inv.Req, id}]; !seen || done.Time < prev.time {
					s.toldOK[toldID{inv.Req, id}] = sale
				}
			}
		case history.Fail:
			b.fail++
		default:
			b.info++
		}
	case "restock":
		units, ok := jsonInt(inv.Value)
		if !ok {
			s.bad = append(s.bad, fmt.Sprintf("op %d: restock value %s is not a number of units", inv.Index, inv.Value))
			return
		}
		r := s.restocksOf(inv.Key)
		if len(r.ops) < maxEvidence {
			r.ops = append(r.ops, inv.Index)
		}
		switch done.Type {
		case history.OK:
			r.ok += units
			r.events = append(r.events, stockChange{time: inv.Time, delta: units})
			if inv.Req != "" {
				s.okRestocks = append(s.okRestocks, okRestock{sku: inv.Key, req: inv.Req, node: inv.Node, units: units,
					index: done.Index, invoke: inv.Time, end: done.Time})
			}
		case history.Info:
			r.info += units
			r.events = append(r.events, stockChange{time: inv.Time, delta: units, info: true})
		}
	case "read-stock", "read-orders":
		s.fr.observe(inv, done)
	}
}

// finalRows is what one final read-orders came to: its rows, parsed (parseFinalRows), or that
// an earlier pick showed the very same bytes.
type finalRows struct {
	rows   []row
	buyers []int32 // each row's buyer, -1 for a request no buyer sent
	err    error
	seen   bool
	sameAs int // for seen: the pick whose rows these are
}

// parseFinalRows parses the rows of the distinct read-orders values among the picks, side by
// side: converged leaders answer with the very same bytes, parsed once.
func (s *saleFacts) parseFinalRows(picks []finalPick) []finalRows {
	out := make([]finalRows, len(picks))
	var wg sync.WaitGroup
	cores := make(chan struct{}, runtime.GOMAXPROCS(0))
	for k, p := range picks {
		if p.f != "read-orders" {
			continue
		}
		h := maphash.Bytes(rowsSeed, p.value)
		if first, seen := s.seenRows[h]; seen {
			out[k].seen, out[k].sameAs = true, first
			continue
		}
		s.seenRows[h] = k
		wg.Go(func() {
			cores <- struct{}{}
			defer func() {
				if r := recover(); r != nil {
					out[k].err = fmt.Errorf("parsing them panicked: %v", r)
				}
				<-cores
			}()
			rows, err := parseRows(p.value)
			// Every request is in by now, and the table only read: its rows' buyers are found
			// here too, side by side.
			buyers := make([]int32, len(rows))
			for j := range rows {
				buyers[j], _ = s.reqs.find(rows[j].Req)
			}
			out[k] = finalRows{rows: rows, buyers: buyers, err: err}
		})
	}
	wg.Wait()
	return out
}

// takeFinal takes in one final read that the history's rule picked (see finalReads), with its
// rows when it is a read-orders.
func (s *saleFacts) takeFinal(p finalPick, fr finalRows) {
	switch p.f {
	case "read-stock":
		units, ok := jsonInt(p.value)
		if !ok {
			s.bad = append(s.bad, fmt.Sprintf("op %d: read-stock value %s is not a number of units", p.index, p.value))
			return
		}
		switch entries, has, err := parseLedger(p.meta); {
		case err != nil:
			s.bad = append(s.bad, fmt.Sprintf("op %d: read-stock meta.ledger is not a list of changes: %v", p.index, err))
		case has:
			s.ledgers = append(s.ledgers, ledgerRead{sku: p.key, node: p.node, index: p.index, units: units, entries: entries, orders: -1})
		}
		r := s.restocksOf(p.key)
		if r.final == nil {
			r.final = map[string]int64{}
		}
		r.final[p.node] = units
		r.finalOps = append(r.finalOps, p.index)
	case "read-orders":
		s.finalOps[p.key] = append(s.finalOps[p.key], p.index)
		s.finalAt[p.key] = append(s.finalAt[p.key], p.node)
		if fr.seen {
			return // the same bytes as an earlier pick: its rows are in
		}
		if fr.err != nil {
			s.bad = append(s.bad, fmt.Sprintf("op %d: read-orders value is not a list of rows: %v", p.index, fr.err))
			return
		}
		for j, r := range fr.rows {
			s.rowKey = rowKey(s.rowKey[:0], r.Node, r.Order)
			if i, h := s.rows.findBytes(s.rowKey); i < 0 {
				s.rows.addBytes(s.rowKey, h)
				s.addRow(r, fr.buyers[j])
			}
		}
	}
}

// finish reads pending invokes as info. It runs once, however many checkers share the facts.
func (s *saleFacts) finish() {
	if s.finished {
		return
	}
	s.finished = true
	for open := range s.p.Pending() {
		s.complete(open, history.Op{Index: -1, Time: s.w.end, Type: history.Info, F: open.inv.F, Key: open.inv.Key})
	}
	picks, rule := s.fr.picks()
	s.finalRule = rule
	rows := s.parseFinalRows(picks)
	n := 0
	for _, fr := range rows {
		n += len(fr.rows)
	}
	s.rowList = make([]orderRow, 0, n) // at most that many distinct
	for k, p := range picks {
		s.takeFinal(p, rows[k])
	}
	if len(s.ledgers) == 0 {
		return
	}
	// Each leader's ledger is held against that leader's own order rows.
	s.pickRows, s.pickIndex = make([][]row, len(picks)), make([]int64, len(picks))
	at := map[finalKey]int{}
	for k, p := range picks {
		s.pickIndex[k] = p.index
		if p.f != "read-orders" {
			continue
		}
		at[finalKey{"read-orders", p.key, p.node}] = k
		if rows[k].seen {
			s.pickRows[k] = rows[rows[k].sameAs].rows
		} else {
			s.pickRows[k] = rows[k].rows
		}
	}
	for i := range s.ledgers {
		l := &s.ledgers[i]
		if k, ok := at[finalKey{"read-orders", l.sku, l.node}]; ok {
			l.orders = k
		}
	}
	sort.Slice(s.ledgers, func(i, j int) bool {
		a, b := s.ledgers[i], s.ledgers[j]
		return a.sku < b.sku || a.sku == b.sku && a.node < b.node
	})
}

// rowKey appends a row's identity as one string to dst: the leader's name after its length,
// then the order id, so that no two pairs give the same key.
func rowKey(dst []byte, node, order string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(node)))
	dst = append(dst, node...)
	return append(dst, order...)
}

// rowOf finds a row by its identity; -1 when no final read showed it. The checkers' results
// call it side by side: it keeps no scratch of its own.
func (s *saleFacts) rowOf(id rowID) int32 {
	i, _ := s.rows.findBytes(rowKey(nil, id.node, id.order))
	return i
}

// judged reports why the facts cannot be judged, or "" when they can.
func (s *saleFacts) unjudgeable() string {
	if len(s.bad) > 0 {
		return strings.Join(s.bad[:min(len(s.bad), 5)], "; ")
	}
	if len(s.finalOps) == 0 {
		return "no successful read-orders in the history: nothing shows which orders exist"
	}
	return ""
}

// skuOf numbers a SKU, for buyer.sku.
func (s *saleFacts) skuOf(sku string) int32 {
	i, ok := s.skuIndex[sku]
	if !ok {
		i = int32(len(s.skuNames))
		s.skuIndex[sku] = i
		s.skuNames = append(s.skuNames, sku)
	}
	return i
}

// unread lists the leaders asked for final reads whose final read-orders of sku never answered:
// an order row may be there and nowhere else.
func (s *saleFacts) unread(sku string) []string {
	var out []string
	for _, n := range s.fr.nodes() {
		if !slices.Contains(s.finalAt[sku], n) {
			out = append(out, n)
		}
	}
	return out
}

// orderRow is a distinct order row, with the buyer whose request it names.
type orderRow struct {
	row  row
	b    int32 // in saleFacts.buyers; -1 for a request no buyer sent
	next int32 // the buyer's next row, 1-based; 0 ends the list
}

// addRow takes in a new order row, linked to its buyer bi (found as the rows were parsed; -1
// for a request no buyer sent): rows come from the final reads, taken in once every op has been
// seen.
func (s *saleFacts) addRow(r row, bi int32) {
	i := int32(len(s.rowList))
	if bi < 0 {
		s.rowList = append(s.rowList, orderRow{row: r, b: -1})
		s.phantom[r.Req] = append(s.phantom[r.Req], i)
		return
	}
	s.rowList = append(s.rowList, orderRow{row: r, b: bi})
	b := s.buyers.at(bi)
	if b.rows == 0 {
		b.rows = i + 1
	} else {
		s.rowList[b.lastRow-1].next = i + 1
	}
	b.lastRow = i + 1
}

// buyerOf is the buyer whose request a row names, or nil for a request no buyer sent.
func (s *saleFacts) buyerOf(o *orderRow) *buyer {
	if o.b < 0 {
		return nil
	}
	return s.buyers.at(o.b)
}

// rowsOf lists a buyer's order rows, in the order the final reads showed them.
func (s *saleFacts) rowsOf(b *buyer) []int32 {
	var out []int32
	for i := b.rows; i != 0; i = s.rowList[i-1].next {
		out = append(out, i-1)
	}
	return out
}

// ids names rows by leader and order id.
func (s *saleFacts) ids(rows []int32) []rowID {
	out := make([]rowID, len(rows))
	for k, i := range rows {
		out[k] = rowID{s.rowList[i].row.Node, s.rowList[i].row.Order}
	}
	return out
}

func (s *saleFacts) rowNodes(ids []rowID) []string {
	var nodes []string
	for _, id := range ids {
		nodes = addUnique(nodes, id.node)
	}
	sort.Strings(nodes)
	return nodes
}

// Dedup checks that every idempotency id has at most one order row across all leaders' final
// reads (a retried purchase that reached two regions must not become two sales), and that no
// row belongs to a request nobody made.
type Dedup struct{}

// Name implements Checker.
func (Dedup) Name() string { return DedupName }

// Check implements Checker.
func (d Dedup) Check(ctx context.Context, in Input) Result {
	return checkByStreaming(ctx, d, in)
}

// Stream implements Streamer.
func (Dedup) Stream(in Input) Stream { return &dedupStream{newSaleFacts(in.Faults)} }

// saleFactsKey is the key of the sale facts, which dedup and oversell share in one pass.
const saleFactsKey = "sale"

// Observe, Finish and Decided implement Facts: the sale facts are finished once the history has
// been read, and the checkers' verdicts worked out after.
func (s *saleFacts) Observe(op history.Op) { s.observe(op) }
func (s *saleFacts) Finish()               { s.finish() }
func (s *saleFacts) Decided() bool         { return false }

type dedupStream struct{ *saleFacts }

func (s *dedupStream) Observe(op history.Op)     { s.observe(op) }
func (s *dedupStream) Facts() (string, Facts)    { return saleFactsKey, s.saleFacts }
func (s *dedupStream) OnFacts(f Facts) Stream    { return &dedupStream{f.(*saleFacts)} }
func (s *oversellStream) Facts() (string, Facts) { return saleFactsKey, s.saleFacts }
func (s *oversellStream) OnFacts(f Facts) Stream { return &oversellStream{f.(*saleFacts)} }

func (s *dedupStream) Result(context.Context) Result {
	s.finish()
	if !s.any {
		return notApplicable("no inventory op (restock, buy, read-stock, read-orders) in the history")
	}
	if why := s.unjudgeable(); why != "" {
		return Result{Valid: Unknown, Error: why}
	}
	windows := s.w.windows()
	r := Result{Valid: True, Stats: map[string]any{"requests": s.reqs.Len(), "order_rows": s.rows.Len(), "final_rule": s.finalRule}}
	dups := 0
	for req, rows := range s.phantom {
		ids := s.ids(rows)
		sku := s.rowList[rows[0]].row.SKU
		r.Anomalies = append(r.Anomalies, Anomaly{Kind: "phantom-order", Key: sku, Ops: firstOps(s.finalOps[sku]), Nodes: s.rowNodes(ids), Definite: true,
			Description: fmt.Sprintf("order rows %s belong to req %q, which no buyer sent", rowNames(ids), req)})
	}
	for bi := range s.buyers.n {
		b := s.buyers.at(bi)
		if b.rows == 0 || s.rowList[b.rows-1].next == 0 {
			continue // no row, or one
		}
		req := s.reqs.str(bi)
		rows := s.rowsOf(b)
		sku := s.rowList[rows[0]].row.SKU
		ids := s.ids(rows)
		dups++
		sortRows(ids)
		var parts []string
		for _, id := range ids {
			parts = append(parts, fmt.Sprintf("%s (qty %d, taken by %s)", id.order, s.rowList[s.rowOf(id)].row.Qty, id.node))
		}
		r.Anomalies = append(r.Anomalies, Anomaly{
			Kind: "duplicate-order", Key: sku, Ops: append(b.evidence(), firstOps(s.finalOps[sku])...),
			Nodes: s.rowNodes(ids), Nemesis: During(windows, b.first, b.last), Definite: true,
			Description: fmt.Sprintf("req %q has %d order rows: %s; its %d attempt(s) at %s ended ok %d, fail %d, info %d",
				req, len(ids), strings.Join(parts, ", "), b.ok+b.fail+b.info, strings.Join(s.nodeBits.of(b.nodes), ","), b.ok, b.fail, b.info),
		})
	}
	r.Stats["duplicate_requests"] = dups
	sortAnomalies(r.Anomalies)
	if len(r.Anomalies) > 0 {
		r.Valid = False
	}
	return r
}

// sortAnomalies orders anomalies by their first op, so that results do not depend on map order.
func sortAnomalies(as []Anomaly) {
	first := func(a Anomaly) int64 {
		if len(a.Ops) == 0 {
			return -1
		}
		return a.Ops[0]
	}
	sort.SliceStable(as, func(i, j int) bool {
		if first(as[i]) != first(as[j]) {
			return first(as[i]) < first(as[j])
		}
		return as[i].Description < as[j].Description
	})
}

// Oversell checks, per SKU, that the units sold never exceed, at any moment, the units restocked
// (see oversold), that the leaders' final stock agrees with the restocks and the order rows, that
// every buyer told ok has a row (no lost sale), and that a buyer told only "sold out" has none.
// An oversell that hinges on restocks of unknown outcome is possible, not definite, and makes the
// verdict unknown rather than false. Where the final stock reads carry a ledger (ledger.go), each
// leader's stock is also held against its own order rows and the acknowledged restocks, so that
// a purchase half-applied there, a lost restock and units that disagree with their ledger are
// named.
type Oversell struct{}

// Name implements Checker.
func (Oversell) Name() string { return OversellName }

// Check implements Checker.
func (o Oversell) Check(ctx context.Context, in Input) Result {
	return checkByStreaming(ctx, o, in)
}

// Stream implements Streamer.
func (Oversell) Stream(in Input) Stream { return &oversellStream{newSaleFacts(in.Faults)} }

type oversellStream struct{ *saleFacts }

func (s *oversellStream) Observe(op history.Op) { s.observe(op) }

func (s *oversellStream) Result(context.Context) Result {
	s.finish()
	if !s.any {
		return notApplicable("no inventory op (restock, buy, read-stock, read-orders) in the history")
	}
	if why := s.unjudgeable(); why != "" {
		return Result{Valid: Unknown, Error: why}
	}
	windows := s.w.windows()
	r := Result{Valid: True, Stats: map[string]any{"final_rule": s.finalRule}}
	sold := map[string]int64{}
	soldRows := map[string][]int32{}
	for i := range s.rowList {
		rw := &s.rowList[i].row
		sold[rw.SKU] += rw.Qty
		soldRows[rw.SKU] = append(soldRows[rw.SKU], int32(i))
	}
	skus := make([]string, 0, len(sold))
	for sku := range sold {
		skus = append(skus, sku)
	}
	sort.Strings(skus)
	possible := 0
	for _, sku := range skus {
		rs := s.restocksOf(sku)
		r.Stats["sold_"+sku] = sold[sku]
		r.Stats["restocked_"+sku] = rs.ok
		for _, a := range s.oversold(sku, soldRows[sku], sold[sku], rs, windows) {
			if !a.Definite {
				possible++
			}
			r.Anomalies = append(r.Anomalies, a)
		}
	}
	lost, unsure := 0, 0
	nSKU := len(r.Anomalies)
	for bi := range s.buyers.n {
		b := s.buyers.at(bi)
		switch {
		case b.ok > 0 && b.rows == 0:
			a := Anomaly{Kind: "lost-sale", Key: s.skuNames[b.sku], Ops: b.evidence(), Nodes: s.nodeBits.of(b.nodes), Nemesis: During(windows, b.first, b.last), Definite: true,
				Description: fmt.Sprintf("req %q was told ok (order %s) but no leader shows an order for it", s.reqs.str(bi), s.told.str(b.told))}
			if gap := s.unread(a.Key); len(gap) > 0 {
				// The row may be at a leader whose final read never answered.
				a.Definite = false
				a.Description = fmt.Sprintf("req %q was told ok (order %s) but no leader that answered a final read-orders shows an order for it; %s did not answer one",
					s.reqs.str(bi), s.told.str(b.told), strings.Join(gap, ","))
				possible++
				unsure++
			} else {
				lost++
			}
			r.Anomalies = append(r.Anomalies, a)
		case b.ok == 0 && b.info == 0 && b.rows > 0:
			ids := s.ids(s.rowsOf(b))
			r.Anomalies = append(r.Anomalies, Anomaly{Kind: "sold-out-but-sold", Ops: b.evidence(), Nodes: s.rowNodes(ids), Nemesis: During(windows, b.first, b.last), Definite: true,
				Description: fmt.Sprintf("req %q was told sold out every time, yet has order rows %s", s.reqs.str(bi), rowNames(ids))})
		}
	}
	r.Stats["lost_sales"] = lost
	if unsure > 0 {
		r.Stats["possibly_lost_sales"] = unsure
	}
	sortAnomalies(r.Anomalies[nSKU:])
	if len(s.ledgers) > 0 {
		r.Stats["ledgers"] = len(s.ledgers)
		r.Anomalies = append(r.Anomalies, s.ledgerAnomalies(windows)...)
	}
	switch {
	case len(r.Anomalies) > possible:
		r.Valid = False
	case possible > 0 && unsure > 0:
		r.Valid = Unknown
		r.Error = fmt.Sprintf("%d sale(s) told ok have no order row at the leaders whose final read-orders answered, and not every leader answered one", unsure)
	case possible > 0:
		r.Valid = Unknown
		r.Error = "an oversell hinges on restocks of unknown outcome, and no final stock read settles them"
	}
	return r
}

// oversold walks a SKU's restocks and sales in time order, in the light most favorable to the
// store: every restock counts from its invoke, every sale only from the completion of the first
// acknowledgement that named its order (a row nobody was told of, from the end of the history).
// If the stock still goes below zero, units were sold that did not exist: a definite oversell.
//
// Restocks of unknown outcome are settled by the leaders' final stock reads, when they agree:
// final stock = restocked - sold, so the units the unknown restocks really added are known (the
// earliest of them are assumed to be the ones that happened, the most favorable choice). Without
// that evidence, a walk that only goes below zero when the unknown restocks never happened is a
// possible oversell.
//
// Final stock that agrees everywhere but is not restocks less order rows is a stock-mismatch of
// its own (the stock rows lost updates); the walk then counts every restock of unknown outcome,
// and still finds an oversell where the order rows alone exceed what was restocked.
func (s *saleFacts) oversold(sku string, rows []int32, soldUnits int64, rs *restocks, windows []Window) []Anomaly {
	a := Anomaly{Kind: "oversell", Key: sku, Ops: append(append([]int64(nil), rs.ops...), firstOps(s.finalOps[sku])...), Nodes: s.rowNodes(s.ids(rows))}
	final, settled := agreed(rs.final)
	// The final stock settles the count only against every leader's rows: a leader whose final
	// read-orders never answered may hold rows nobody else shows.
	settled = settled && len(s.unread(sku)) == 0
	budget := rs.info
	var out []Anomaly
	if settled {
		real := final + soldUnits - rs.ok
		if real < 0 || real > rs.info {
			m := a
			m.Ops = append(append([]int64(nil), a.Ops...), rs.finalOps...)
			m.Definite = true
			m.Kind = "stock-mismatch"
			m.Description = fmt.Sprintf("%s: the leaders' final stock %d is not restocks less order rows: %d restocked for sure, %d of unknown outcome, %d units in order rows",
				sku, final, rs.ok, rs.info, soldUnits)
			out = append(out, m)
			settled = false // the final stock proves nothing about the restocks
		} else {
			budget = real
		}
	}
	events := s.stockEvents(rows, rs)
	first, at, ok := walk(events, budget)
	switch {
	case ok:
		a.Definite = true
	case !settled && rs.info > 0:
		if first, at, ok = walk(events, 0); !ok {
			return out
		}
	default:
		return out
	}
	if first.told {
		a.Description = fmt.Sprintf("%s: the sale acknowledged by op %d", sku, first.sale.index)
		if n := s.nodeBits.name(first.sale.node); n != "" {
			a.Description += " on " + n
		}
		a.Ops = append(a.Ops, first.sale.index)
		a.Nemesis = During(windows, first.sale.invokeTime, first.sale.time)
	} else {
		// No client was told of this row: it counts from the end of the history, and no op
		// acknowledged it.
		rw := &s.rowList[first.row].row
		a.Description = fmt.Sprintf("%s: order row %s (request %q), of which no client was told,", sku, rowID{rw.Node, rw.Order}, rw.Req)
	}
	a.Description += fmt.Sprintf(" sold a unit that did not exist: by then %d units had been restocked", at.restocked)
	if at.unsure > 0 {
		a.Description += fmt.Sprintf(" (%d of them by restocks of unknown outcome", at.unsure)
		if settled {
			a.Description += ", as the final stock shows"
		}
		a.Description += ")"
	}
	a.Description += fmt.Sprintf(" and %d sold, this sale included (order rows, each counted from the first acknowledgement that named it); by the end, %d units in order rows",
		at.sold, soldUnits)
	return append(out, a)
}

// agreed returns the value every leader's final read gave, if they all gave the same.
func agreed(final map[string]int64) (int64, bool) {
	var v int64
	n := 0
	for _, u := range final {
		if n > 0 && u != v {
			return 0, false
		}
		v = u
		n++
	}
	return v, n > 0
}

// stockAt is the count at one moment of a walk: units restocked (unsure of them by restocks of
// unknown outcome) and units sold.
type stockAt struct{ restocked, unsure, sold int64 }

// stockChange is a change of a SKU's stock: a restock (delta > 0; info when its outcome is
// unknown) or a sale (delta < 0).
type stockChange struct {
	time  int64
	delta int64
	info  bool
	sale  okSale
	row   int32 // a sale's order row, in saleFacts.rowList
	told  bool  // a sale some client was told of (sale is its first acknowledgement)
}

// stockEvents are a SKU's restocks and sales in time order: every restock from its invoke,
// every sale from the first acknowledgement that named its order row (a row nobody was told of,
// from the end of the history), restocks before sales at the same instant (the favorable
// order).
func (s *saleFacts) stockEvents(rows []int32, rs *restocks) []stockChange {
	events := make([]stockChange, 0, len(rs.events)+len(rows))
	events = append(events, rs.events...)
	end := s.w.end + 1
	for _, i := range rows {
		o := &s.rowList[i]
		rw := &o.row
		sale := okSale{node: -1}
		var told bool
		if b := s.buyerOf(o); b != nil && b.hasSale && s.told.is(b.told, rw.Order) {
			sale, told = b.sale, true
		} else if other, ok := s.toldOK[toldID{rw.Req, rw.Order}]; ok {
			sale, told = other, true
		}
		t := end
		if told {
			t = sale.time
		}
		events = append(events, stockChange{time: t, delta: -rw.Qty, sale: sale, row: i, told: told})
	}
	slices.SortStableFunc(events, func(a, b stockChange) int {
		if c := cmp.Compare(a.time, b.time); c != 0 {
			return c
		}
		return cmp.Compare(b.delta, a.delta)
	})
	return events
}

// walk runs the stock through its events, counting at most infoBudget units of the restocks of
// unknown outcome (earliest first), and returns the sale that first took it below zero and the
// counts at that moment.
func walk(events []stockChange, infoBudget int64) (stockChange, stockAt, bool) {
	var stock int64
	var at stockAt
	for _, e := range events {
		switch {
		case e.delta < 0:
			stock += e.delta
			at.sold -= e.delta
			if stock < 0 {
				return e, at, true
			}
		case e.info:
			add := min(e.delta, infoBudget)
			infoBudget -= add
			stock += add
			at.restocked += add
			at.unsure += add
		default:
			stock += e.delta
			at.restocked += e.delta
		}
	}
	return stockChange{}, at, false
}

// sortRows orders row ids by leader, then order id.
func sortRows(ids []rowID) {
	sort.Slice(ids, func(i, j int) bool {
		if ids[i].node != ids[j].node {
			return ids[i].node < ids[j].node
		}
		return ids[i].order < ids[j].order
	})
}

// rowNames lists row ids for a description.
func rowNames(ids []rowID) string {
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = id.String()
	}
	return strings.Join(parts, ", ")
}
