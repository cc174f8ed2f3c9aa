package harness

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"crossfire/clusters/regionkv"
	"crossfire/nemesis"
	"crossfire/workloads"
)

// Test is a whole run's configuration, plain data: test.json holds it, seed and schedule
// included, which is enough to run it again. Zero fields take the defaults of WithDefaults.
type Test struct {
	Name        string   `json:"name"`
	Workload    string   `json:"workload"`
	Strategy    string   `json:"strategy"` // register or cart strategy
	Stock       string   `json:"stock"`    // inventory: stock strategy
	Orders      string   `json:"orders"`   // inventory: order strategy
	Nemeses     []string `json:"nemeses"`
	Cluster     string   `json:"cluster"`
	Nodes       int      `json:"nodes"`
	Keys        int      `json:"keys"`
	Rate        float64  `json:"rate"` // operations per second, all clients together
	Concurrency int      `json:"concurrency"`
	// Seed drives the generator and the nemesis schedule; 0 means draw one.
	Seed uint64 `json:"seed"`

	Duration      time.Duration `json:"duration_ns"`       // the main phase
	OpTimeout     time.Duration `json:"op_timeout_ns"`     // per client operation
	Interval      time.Duration `json:"interval_ns"`       // mean quiet time between faults
	FaultDuration time.Duration `json:"fault_duration_ns"` // mean time a fault lasts
	Quiesce       time.Duration `json:"quiesce_ns"`        // bound on the wait for replication after healing
	CheckTimeout  time.Duration `json:"check_timeout_ns"`  // bound on the checkers

	// Schedule is the nemesis schedule; empty means plan one from the seed.
	Schedule nemesis.Schedule `json:"schedule"`
}

// The cluster kinds: the embedded cluster (the default) and containers.
const (
	ClusterLocal  = "local"
	ClusterDocker = "docker"
)

// Clusters lists the cluster kinds this build can start.
var Clusters = []string{ClusterLocal, ClusterDocker}

// Strategies lists, per workload, the store strategies it can run against (the inventory
// workload is configured by Stock and Orders instead).
var Strategies = map[string][]string{
	workloads.RegisterName: regionkv.RegisterStrategies,
	workloads.CartName:     regionkv.CartStrategies,
}

// WithDefaults fills the zero fields.
func (t Test) WithDefaults() Test {
	if t.Workload == "" {
		t.Workload = workloads.RegisterName
	}
	if t.Strategy == "" && len(Strategies[t.Workload]) > 0 {
		t.Strategy = Strategies[t.Workload][0]
	}
	if t.Workload == workloads.InventoryName {
		if t.Stock == "" {
			t.Stock = regionkv.StockStrategies[0]
		}
		if t.Orders == "" {
			t.Orders = regionkv.OrderStrategies[0]
		}
	}
	if t.Nemeses == nil {
		t.Nemeses = []string{nemesis.PartitionName}
	}
	if t.Cluster == "" {
		t.Cluster = ClusterLocal
	}
	if t.Nodes == 0 {
		t.Nodes = 3
	}
	if t.Rate == 0 {
		t.Rate = 100
	}
	if t.Concurrency == 0 {
		t.Concurrency = 2 * t.Nodes
	}
	if t.Seed == 0 {
		var b [8]byte
		_, _ = rand.Read(b[:])
		t.Seed = binary.LittleEndian.Uint64(b[:])>>1 | 1
	}
	if t.Duration == 0 {
		t.Duration = 15 * time.Second
	}
	if t.OpTimeout == 0 {
		t.OpTimeout = time.Second
	}
	if t.Quiesce == 0 {
		t.Quiesce = 20 * time.Second
	}
	if t.CheckTimeout == 0 {
		t.CheckTimeout = 2 * time.Minute
	}
	if t.Name == "" {
		nem := "none"
		if len(t.Nemeses) > 0 {
			nem = strings.Join(t.Nemeses, "+")
		}
		strategy := t.Strategy
		if t.Workload == workloads.InventoryName {
			strategy = t.Stock + "-" + t.Orders
		}
		t.Name = fmt.Sprintf("%s-%s-%s", t.Workload, strategy, nem)
	}
	return t
}

// Validate reports the first thing wrong with a test (after WithDefaults), naming what is valid.
func (t Test) Validate() error {
	if _, ok := workloads.Catalog[t.Workload]; !ok {
		return fmt.Errorf("unknown workload %q (valid: %s)", t.Workload, strings.Join(workloads.Names(), ", "))
	}
	if t.Workload == workloads.InventoryName {
		if !slices.Contains(regionkv.StockStrategies, t.Stock) {
			return fmt.Errorf("unknown stock strategy %q (valid: %s)", t.Stock, strings.Join(regionkv.StockStrategies, ", "))
		}
		if !slices.Contains(regionkv.OrderStrategies, t.Orders) {
			return fmt.Errorf("unknown order strategy %q (valid: %s)", t.Orders, strings.Join(regionkv.OrderStrategies, ", "))
		}
	} else if valid := Strategies[t.Workload]; !slices.Contains(valid, t.Strategy) {
		return fmt.Errorf("unknown strategy %q for workload %s (valid: %s)", t.Strategy, t.Workload, strings.Join(valid, ", "))
	}
	if _, err := nemesis.Lookup(t.Nemeses); err != nil {
		return err
	}
	if !slices.Contains(Clusters, t.Cluster) {
		return fmt.Errorf("unknown cluster %q (valid: %s)", t.Cluster, strings.Join(Clusters, ", "))
	}
	if strings.ContainsAny(t.Name, `/\`) || t.Name == "." || t.Name == ".." || t.Name == "latest" {
		return fmt.Errorf("test name %q cannot name a folder", t.Name)
	}
	var errs []error
	for _, c := range []struct {
		name string
		bad  bool
	}{
		{"nodes must be from 1 to 9", t.Nodes < 1 || t.Nodes > 9},
		{"rate must be positive", t.Rate <= 0},
		{"concurrency must be from 1 to 1000", t.Concurrency < 1 || t.Concurrency > 1000},
		{"duration must be positive", t.Duration <= 0},
		{"op timeout must be positive", t.OpTimeout <= 0},
		{"keys must not be negative", t.Keys < 0},
		{"interval and fault duration must not be negative", t.Interval < 0 || t.FaultDuration < 0},
	} {
		if c.bad {
			errs = append(errs, errors.New(c.name))
		}
	}
	return errors.Join(errs...)
}
