package runfolder

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/crossfire-dev/crossfire/checkers/txn"
	"github.com/crossfire-dev/crossfire/db"
	"github.com/crossfire-dev/crossfire/nemesis"
	"github.com/crossfire-dev/crossfire/workloads"
)

// Test is a whole run's configuration, plain data: test.json holds it, seed and schedule
// included, which is enough to run it again. Zero fields take the defaults of WithDefaults.
type Test struct {
	Name     string `json:"name"`
	DB       string `json:"db"` // the database under test, by its name in the catalog; "" is db.Default()
	Workload string `json:"workload"`
	// Options are the database's own options for the workload (its strategies and the like);
	// WithDefaults fills in the ones left out.
	Options map[string]string `json:"options,omitempty"`
	Nemeses []string          `json:"nemeses"`
	Cluster string            `json:"cluster"` // a cluster kind of the database: local, docker …
	Nodes   int               `json:"nodes"`
	Keys    int               `json:"keys"`
	// UniqueValues: register values new to each key (workloads.Options.UniqueValues).
	UniqueValues bool `json:"unique_values,omitempty"`
	// TxnLength, MaxWritesPerKey and KeyDist shape the transactional workloads' transactions
	// (workloads.Options); ConsistencyModel is the model the isolation checker holds them to.
	TxnLength        int     `json:"txn_length,omitempty"`
	MaxWritesPerKey  int     `json:"max_writes_per_key,omitempty"`
	KeyDist          string  `json:"key_dist,omitempty"`
	ConsistencyModel string  `json:"consistency_model,omitempty"`
	Rate             float64 `json:"rate"` // operations per second, all clients together
	Concurrency      int     `json:"concurrency"`
	// Seed drives the generator and the nemesis schedule; 0 means draw one.
	Seed uint64 `json:"seed"`

	Duration      time.Duration `json:"duration_ns"`       // the main phase
	OpTimeout     time.Duration `json:"op_timeout_ns"`     // per client operation
	Interval      time.Duration `json:"interval_ns"`       // mean quiet time between faults
	FaultDuration time.Duration `json:"fault_duration_ns"` // mean time a fault lasts
	Quiesce       time.Duration `json:"quiesce_ns"`        // bound on the wait for replication after healing
	CheckTimeout  time.Duration `json:"check_timeout_ns"`  // bound on the checkers

	// WAN puts the leaders in regions apart: every link between two leaders delays its traffic
	// by half this round trip each way for the whole run, while clients reach their own leader
	// at once (clusters.WANEmulator). Zero is the cluster as it is (loopback or a Docker
	// network). Faults' latency adds to it.
	WAN time.Duration `json:"wan_rtt_ns,omitempty"`

	// HoldLast keeps each nemesis's last fault in force to the end of the main phase; the final
	// heal undoes it once the workload has stopped (nemesis.Timing.HoldLast).
	HoldLast bool `json:"hold_last,omitempty"`

	// Schedule is the nemesis schedule; empty means plan one from the seed.
	Schedule nemesis.Schedule `json:"schedule"`
}

// The cluster kinds of the databases crossfire ships: local processes (the default) and
// containers.
const (
	ClusterLocal  = "local"
	ClusterDocker = "docker"
)

// WithDefaults fills the zero fields. The database's options are filled in where the database
// and the workload are known; Validate reports what is not.
func (t Test) WithDefaults() Test {
	if t.DB == "" {
		t.DB = db.Default()
	}
	if t.Workload == "" {
		t.Workload = workloads.RegisterName
	}
	d, err := db.Lookup(t.DB)
	var spec db.Spec
	if err == nil {
		spec = d.Spec()
		if opts, err := spec.Resolve(t.Workload, t.Options); err == nil {
			t.Options = opts
		}
	}
	if t.Nemeses == nil {
		t.Nemeses = []string{nemesis.PartitionName}
	}
	if t.Cluster == "" && len(spec.Kinds) > 0 {
		t.Cluster = spec.Kinds[0].Name
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
		t.Seed = rand.Uint64()>>1 | 1 // math/rand/v2's global source is seeded at random
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
		t.Name = t.defaultName(spec)
	}
	return t
}

// defaultName is [db-]workload-<the database's chosen values>-nemeses: register-lww-partition,
// inventory-pncounter-naive-partition+retry; the database is named when it is not the default,
// and a Named option (mariadb-register-galera-write-anywhere-flush-0-kill-all) only when it is
// not its default.
func (t Test) defaultName(spec db.Spec) string {
	parts := []string{t.Workload}
	if t.DB != db.Default() {
		parts = append([]string{t.DB}, parts...)
	}
	for _, o := range spec.Options[t.Workload] {
		v := t.Options[o.Name]
		switch {
		case len(o.Values) == 0 || v == "":
		case !o.Named:
			parts = append(parts, v)
		case v != o.Values[0]:
			parts = append(parts, o.Name+"-"+v)
		}
	}
	nem := "none"
	if len(t.Nemeses) > 0 {
		nem = strings.Join(t.Nemeses, "+")
	}
	parts = append(parts, nem)
	if t.WAN > 0 {
		parts = append(parts, "wan"+t.WAN.String())
	}
	return strings.Join(parts, "-")
}

// Validate reports the first thing wrong with a test (after WithDefaults), naming what is valid.
func (t Test) Validate() error {
	d, err := db.Lookup(t.DB)
	if err != nil {
		return err
	}
	if _, ok := workloads.Catalog[t.Workload]; !ok {
		return fmt.Errorf("unknown workload %q (valid: %s)", t.Workload, strings.Join(workloads.Names(), ", "))
	}
	spec := d.Spec()
	if _, err := spec.Resolve(t.Workload, t.Options); err != nil {
		return fmt.Errorf("database %s %w", t.DB, err)
	}
	if _, err := spec.Kind(t.Cluster); err != nil {
		return fmt.Errorf("database %s %w", t.DB, err)
	}
	if _, err := nemesis.Lookup(t.Nemeses); err != nil {
		return err
	}
	if err := workloads.CheckTxnOptions(t.WorkloadOptions()); err != nil {
		return err
	}
	if t.ConsistencyModel != "" {
		if _, err := txn.LookupModel(t.ConsistencyModel); err != nil {
			return err
		}
	}
	if strings.ContainsAny(t.Name, `/\`) || t.Name == "." || t.Name == ".." || t.Name == "latest" {
		return fmt.Errorf("test name %q cannot name a folder", t.Name)
	}
	var errs []error
	for _, c := range []struct {
		name string
		bad  bool
	}{
		{"nodes must be from 2 to 9 (a multi-leader test needs two leaders at least)", t.Nodes < 2 || t.Nodes > 9},
		{"rate must be positive", t.Rate <= 0},
		{"concurrency must be from 1 to 1000", t.Concurrency < 1 || t.Concurrency > 1000},
		{"duration must be positive", t.Duration <= 0},
		{"op timeout must be positive", t.OpTimeout <= 0},
		{"keys must not be negative", t.Keys < 0},
		{"interval and fault duration must not be negative", t.Interval < 0 || t.FaultDuration < 0},
		{"the round trip between leaders (WAN) must be 0 or from 2ms to 10s", t.WAN != 0 && (t.WAN < 2*time.Millisecond || t.WAN > 10*time.Second)},
	} {
		if c.bad {
			errs = append(errs, errors.New(c.name))
		}
	}
	return errors.Join(errs...)
}

// legacyOptions are the fields test.json had before a database's options were its own; LoadTest
// reads them into Options, so that old run folders can still be run again.
type legacyOptions struct {
	Strategy string `json:"strategy"`
	Stock    string `json:"stock"`
	Orders   string `json:"orders"`
}

func (l legacyOptions) into(t *Test) {
	for k, v := range map[string]string{"strategy": l.Strategy, "stock": l.Stock, "orders": l.Orders} {
		if v == "" {
			continue
		}
		if t.Options == nil {
			t.Options = map[string]string{}
		}
		if _, set := t.Options[k]; !set {
			t.Options[k] = v
		}
	}
}

// WorkloadOptions are the options the test gives its workload.
func (t Test) WorkloadOptions() workloads.Options {
	return workloads.Options{Keys: t.Keys, UniqueValues: t.UniqueValues, TxnLength: t.TxnLength,
		MaxWritesPerKey: t.MaxWritesPerKey, KeyDist: t.KeyDist}
}
