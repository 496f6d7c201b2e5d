// Package conformance is the Go runner of the SDK conformance suite (test/conformance/README.md in the
// repository describes the format): it plays a scenario's steps with the Go SDK (client,
// brokeragent) against NameServer processes it starts on loopback, and returns the scenario's
// reports. Every wait re-checks its condition after each event of the objects it watches (SDK
// callbacks, process exits); none sleeps.
package conformance

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/mq-nameserver/mq-nameserver/sdk/go/backoff"
	"github.com/mq-nameserver/mq-nameserver/sdk/go/brokeragent"
	"github.com/mq-nameserver/mq-nameserver/sdk/go/client"
	"github.com/mq-nameserver/mq-nameserver/sdk/go/internal/testserver"
	pb "github.com/mq-nameserver/mq-nameserver/sdk/go/nameserverv1"
)

// Scenario is one scenario file.
type Scenario struct {
	Name        string                       `json:"name"`
	Title       string                       `json:"title"`
	Description string                       `json:"description"`
	Steps       []map[string]json.RawMessage `json:"steps"`
}

// Report is one measured number and, when the scenario gives one, its budget (printed, never asserted).
type Report struct {
	Key      string
	Value    int64
	BudgetMs int64
}

// Dir is where the scenario files are: test/conformance/scenarios under the repository root.
func Dir() (string, error) {
	root, err := testserver.Root()
	if err != nil {
		return "", err
	}
	return filepath.Join(root, "test", "conformance", "scenarios"), nil
}

// Load reads every scenario file of dir, in file name order; each must be well-formed.
func Load(dir string) ([]Scenario, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	var out []Scenario
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		var s Scenario
		if err := json.Unmarshal(b, &s); err != nil {
			return nil, fmt.Errorf("%s: %w", filepath.Base(f), err)
		}
		if want := strings.TrimSuffix(filepath.Base(f), ".json"); s.Name != want {
			return nil, fmt.Errorf("%s: name %q differs from the file name", filepath.Base(f), s.Name)
		}
		if len(s.Steps) == 0 {
			return nil, fmt.Errorf("%s: no steps", filepath.Base(f))
		}
		out = append(out, s)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no scenario files in %s", dir)
	}
	return out, nil
}

// fields lists what each action takes (besides "do" and "note"); anything else is an error.
var fields = map[string][]string{
	"start_replicas":         {"replicas"},
	"start_broker":           {"name", "address", "replicas", "topics", "queues", "cluster", "chunk_size", "process", "report", "within_ms"},
	"start_client":           {"name", "replicas"},
	"watch":                  {"client", "topics"},
	"expect_connected":       {"client", "replicas", "within_ms"},
	"expect_view":            {"client", "topics", "brokers", "queues", "since", "report", "budget_ms", "within_ms"},
	"expect_route_events":    {"client", "since", "events", "bytes", "report"},
	"mark":                   {"name"},
	"kill_replica":           {"replica", "signal"},
	"kill_broker":            {"broker"},
	"admin":                  {"replica", "call", "topic", "broker_names", "expect"},
	"get_route":              {"client", "replica", "topic", "brokers", "queues", "error"},
	"expect_broker_commands": {"broker", "commands"},
	"expect_registration":    {"broker", "chunks", "topics", "report"},
}

const (
	defaultWithin = 15 * time.Second
	defaultQueues = 8
)

// fastBackoff is what the scenarios' clients and brokers use (the README: 50 ms to 1 s).
var fastBackoff = backoff.Options{Initial: 50 * time.Millisecond, Max: time.Second, Jitter: 0.5}

// step is one step with typed accessors; a missing or ill-typed field is an error.
type step struct {
	do string
	f  map[string]json.RawMessage
}

func (s step) has(k string) bool { _, ok := s.f[k]; return ok }

func (s step) decode(k string, v any) error {
	raw, ok := s.f[k]
	if !ok {
		return fmt.Errorf("%q is required", k)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("%q: %w", k, err)
	}
	return nil
}

func (s step) str(k string) (string, error) {
	var v string
	if err := s.decode(k, &v); err != nil {
		return "", err
	}
	if v == "" {
		return "", fmt.Errorf("%q must not be empty", k)
	}
	return v, nil
}

func (s step) num(k string, dflt int64) (int64, error) {
	if !s.has(k) {
		return dflt, nil
	}
	var v int64
	if err := s.decode(k, &v); err != nil {
		return 0, err
	}
	if v < 0 {
		return 0, fmt.Errorf("%q must not be negative", k)
	}
	return v, nil
}

func (s step) strs(k string) ([]string, error) {
	var v []string
	if err := s.decode(k, &v); err != nil {
		return nil, err
	}
	return v, nil
}

func (s step) within() (time.Duration, error) {
	ms, err := s.num("within_ms", defaultWithin.Milliseconds())
	return time.Duration(ms) * time.Millisecond, err
}

type topicEntry struct {
	Prefix         *string `json:"prefix"`
	Count          int     `json:"count"`
	Name           string  `json:"name"`
	ReadQueueNums  uint32  `json:"read_queue_nums"`
	WriteQueueNums uint32  `json:"write_queue_nums"`
}

// topicConfigs expands a topic set (see the README) into configurations, in order, without duplicates.
func topicConfigs(raw []json.RawMessage, queues uint32) ([]*pb.TopicConfig, error) {
	seen := map[string]bool{}
	var out []*pb.TopicConfig
	add := func(name string, r, w uint32) {
		if seen[name] {
			return
		}
		seen[name] = true
		t := brokeragent.Topic(name)
		t.ReadQueueNums, t.WriteQueueNums = r, w
		out = append(out, t)
	}
	for _, e := range raw {
		var name string
		if json.Unmarshal(e, &name) == nil {
			add(name, queues, queues)
			continue
		}
		var te topicEntry
		if err := json.Unmarshal(e, &te); err != nil {
			return nil, fmt.Errorf("topic entry %s: %w", e, err)
		}
		switch {
		case te.Prefix != nil:
			for i := range te.Count {
				add(fmt.Sprintf("%s%d", *te.Prefix, i), queues, queues)
			}
		case te.Name != "":
			r, w := te.ReadQueueNums, te.WriteQueueNums
			if r == 0 {
				r = queues
			}
			if w == 0 {
				w = queues
			}
			add(te.Name, r, w)
		default:
			return nil, fmt.Errorf("topic entry %s: neither a name nor a prefix", e)
		}
	}
	return out, nil
}

func (s step) topics(queues uint32) ([]*pb.TopicConfig, error) {
	var raw []json.RawMessage
	if err := s.decode("topics", &raw); err != nil {
		return nil, err
	}
	return topicConfigs(raw, queues)
}

func (s step) topicNames() ([]string, error) {
	cfgs, err := s.topics(defaultQueues)
	if err != nil {
		return nil, err
	}
	names := make([]string, len(cfgs))
	for i, c := range cfgs {
		names[i] = c.Name
	}
	return names, nil
}

// Answered is one command the store handler answered.
type Answered struct {
	Action  string `json:"action"`
	Name    string `json:"name"`
	Outcome string `json:"outcome"`
}

// StoreHandler is the conformance store handler (see the README): topics in memory, starting with
// initial, and every answer recorded through record.
func StoreHandler(initial []*pb.TopicConfig, record func(Answered)) brokeragent.CommandHandler {
	var mu sync.Mutex
	store := map[string]*pb.TopicConfig{}
	for _, t := range initial {
		store[t.Name] = t
	}
	answer := func(action, name string, o pb.CommandOutcome) (brokeragent.CommandReply, error) {
		record(Answered{Action: action, Name: name, Outcome: o.String()})
		return brokeragent.CommandReply{Outcome: o}, nil
	}
	return brokeragent.CommandHandler{
		CreateTopic: func(_ context.Context, t *pb.TopicConfig) (brokeragent.CommandReply, error) {
			mu.Lock()
			defer mu.Unlock()
			if held := store[t.Name]; held != nil && !brokeragent.SameTopicConfig(held, t) {
				return answer("create_topic", t.Name, pb.CommandOutcome_COMMAND_OUTCOME_ALREADY_EXISTS)
			}
			store[t.Name] = t
			return answer("create_topic", t.Name, pb.CommandOutcome_COMMAND_OUTCOME_OK)
		},
		UpdateTopic: func(_ context.Context, t *pb.TopicConfig) (brokeragent.CommandReply, error) {
			mu.Lock()
			defer mu.Unlock()
			if store[t.Name] == nil {
				return answer("update_topic", t.Name, pb.CommandOutcome_COMMAND_OUTCOME_NOT_FOUND)
			}
			store[t.Name] = t
			return answer("update_topic", t.Name, pb.CommandOutcome_COMMAND_OUTCOME_OK)
		},
		DeleteTopic: func(_ context.Context, name string) (brokeragent.CommandReply, error) {
			mu.Lock()
			defer mu.Unlock()
			if store[name] == nil {
				return answer("delete_topic", name, pb.CommandOutcome_COMMAND_OUTCOME_NOT_FOUND)
			}
			delete(store, name)
			return answer("delete_topic", name, pb.CommandOutcome_COMMAND_OUTCOME_OK)
		},
	}
}

type replica struct {
	server *testserver.Server
	conn   *grpc.ClientConn
}

type broker struct {
	agent    *brokeragent.BrokerAgent
	proc     *exec.Cmd
	exited   chan struct{}
	answered []Answered
	replicas []string
}

type viewEntry struct {
	route *pb.Route
	at    time.Time
}

type conClient struct {
	sdk     *client.NameServerClient
	view    map[string]viewEntry
	watches []*client.Watch
}

type mark struct {
	at       time.Time
	counters map[string]client.Stats
}

// Run plays one scenario; it always cleans up what it started. It returns the reports, and the
// first failure naming its step.
func Run(s Scenario) (reports []Report, err error) {
	r := &run{
		replicas: map[string]*replica{}, brokers: map[string]*broker{}, clients: map[string]*conClient{},
		marks: map[string]mark{}, changed: make(chan struct{}),
	}
	defer r.cleanup()
	for i, raw := range s.Steps {
		st := step{f: raw}
		if err := json.Unmarshal(raw["do"], &st.do); err != nil {
			return r.reports, fmt.Errorf("%s: step %d: no \"do\"", s.Name, i+1)
		}
		if err := r.step(st); err != nil {
			text, _ := json.Marshal(raw)
			return r.reports, fmt.Errorf("%s: step %d (%s): %w", s.Name, i+1, text, err)
		}
	}
	return r.reports, nil
}

// Line formats reports as one line, e.g. "failover_bytes=0 removal_ms_w1=2043 (budget 3000)".
func Line(reports []Report) string {
	if len(reports) == 0 {
		return "(no reports)"
	}
	parts := make([]string, len(reports))
	for i, rep := range reports {
		parts[i] = fmt.Sprintf("%s=%d", rep.Key, rep.Value)
		if rep.BudgetMs > 0 {
			parts[i] += fmt.Sprintf(" (budget %d)", rep.BudgetMs)
		}
	}
	return strings.Join(parts, " ")
}

type run struct {
	mu       sync.Mutex // guards views, answered, changed
	replicas map[string]*replica
	brokers  map[string]*broker
	clients  map[string]*conClient
	marks    map[string]mark
	reports  []Report
	changed  chan struct{} // closed and replaced on every change a wait may be interested in
}

func (r *run) notify() {
	r.mu.Lock()
	close(r.changed)
	r.changed = make(chan struct{})
	r.mu.Unlock()
}

// until returns once check (called with r.mu held) holds, re-checking after every change.
func (r *run) until(within time.Duration, check func() bool, what func() string) error {
	deadline := time.NewTimer(within)
	defer deadline.Stop()
	for {
		r.mu.Lock()
		ok := check()
		ch := r.changed
		r.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-ch:
		case <-deadline.C:
			r.mu.Lock()
			defer r.mu.Unlock()
			return fmt.Errorf("not met within %v: %s", within, what())
		}
	}
}

func (r *run) report(key string, value, budget int64) {
	r.reports = append(r.reports, Report{Key: key, Value: value, BudgetMs: budget})
}

func (r *run) replica(name string) (*replica, error) {
	if rp := r.replicas[name]; rp != nil {
		return rp, nil
	}
	return nil, fmt.Errorf("no replica %q", name)
}

func (r *run) addresses(names []string) ([]string, error) {
	out := make([]string, len(names))
	for i, n := range names {
		rp, err := r.replica(n)
		if err != nil {
			return nil, err
		}
		out[i] = rp.server.Address
	}
	return out, nil
}

func (r *run) client(st step) (*conClient, string, error) {
	name, err := st.str("client")
	if err != nil {
		return nil, "", err
	}
	if c := r.clients[name]; c != nil {
		return c, name, nil
	}
	return nil, "", fmt.Errorf("no client %q", name)
}

func (r *run) broker(st step) (*broker, error) {
	name, err := st.str("broker")
	if err != nil {
		return nil, err
	}
	if b := r.brokers[name]; b != nil {
		return b, nil
	}
	return nil, fmt.Errorf("no broker %q", name)
}

func (r *run) mark(st step) (mark, error) {
	name, err := st.str("since")
	if err != nil {
		return mark{}, err
	}
	m, ok := r.marks[name]
	if !ok {
		return mark{}, fmt.Errorf("no mark %q", name)
	}
	return m, nil
}

func (r *run) step(st step) error {
	allowed, ok := fields[st.do]
	if !ok {
		return fmt.Errorf("unknown action %q", st.do)
	}
	for k := range st.f {
		if k != "do" && k != "note" && !slices.Contains(allowed, k) {
			return fmt.Errorf("unknown field %q", k)
		}
	}
	switch st.do {
	case "start_replicas":
		return r.startReplicas(st)
	case "start_broker":
		return r.startBroker(st)
	case "start_client":
		return r.startClient(st)
	case "watch":
		return r.watch(st)
	case "expect_connected":
		return r.expectConnected(st)
	case "expect_view":
		return r.expectView(st)
	case "expect_route_events":
		return r.expectRouteEvents(st)
	case "mark":
		return r.doMark(st)
	case "kill_replica":
		return r.killReplica(st)
	case "kill_broker":
		return r.killBroker(st)
	case "admin":
		return r.admin(st)
	case "get_route":
		return r.getRoute(st)
	case "expect_broker_commands":
		return r.expectBrokerCommands(st)
	case "expect_registration":
		return r.expectRegistration(st)
	}
	return nil
}

func (r *run) startReplicas(st step) error {
	var list []struct {
		Name string   `json:"name"`
		Args []string `json:"args"`
	}
	if err := st.decode("replicas", &list); err != nil {
		return err
	}
	if len(list) == 0 {
		return errors.New(`"replicas" must not be empty`)
	}
	type started struct {
		srv *testserver.Server
		err error
	}
	results := make([]started, len(list))
	var wg sync.WaitGroup
	for i, e := range list {
		wg.Add(1)
		go func() {
			defer wg.Done()
			srv, err := testserver.Start(e.Args...)
			results[i] = started{srv, err}
		}()
	}
	wg.Wait()
	var errs []error
	for i, e := range list {
		if results[i].err != nil {
			errs = append(errs, results[i].err)
			continue
		}
		conn, err := grpc.NewClient(results[i].srv.Address, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			results[i].srv.Stop()
			errs = append(errs, err)
			continue
		}
		if r.replicas[e.Name] != nil {
			errs = append(errs, fmt.Errorf("replica %q exists", e.Name))
		}
		r.replicas[e.Name] = &replica{server: results[i].srv, conn: conn}
	}
	return errors.Join(errs...)
}

// brokerConfig is what a broker process gets (JSON in the environment variable BrokerProcessEnv).
type brokerConfig struct {
	Nameservers []string          `json:"nameservers"`
	Cluster     string            `json:"cluster"`
	BrokerName  string            `json:"broker_name"`
	Addresses   []string          `json:"addresses"`
	Topics      []json.RawMessage `json:"topics"`
	ChunkSize   int               `json:"chunk_size"`
}

func (r *run) startBroker(st step) error {
	name, err := st.str("name")
	if err != nil {
		return err
	}
	if r.brokers[name] != nil {
		return fmt.Errorf("broker %q exists", name)
	}
	names, err := st.strs("replicas")
	if err != nil {
		return err
	}
	addrs, err := r.addresses(names)
	if err != nil {
		return err
	}
	queues, err := st.num("queues", defaultQueues)
	if err != nil {
		return err
	}
	topics, err := st.topics(uint32(queues))
	if err != nil {
		return err
	}
	address, err := st.str("address")
	if err != nil {
		return err
	}
	cluster := "c1"
	if st.has("cluster") {
		if cluster, err = st.str("cluster"); err != nil {
			return err
		}
	}
	chunk, err := st.num("chunk_size", 0)
	if err != nil {
		return err
	}
	var process bool
	if st.has("process") {
		if err := st.decode("process", &process); err != nil {
			return err
		}
	}
	b := &broker{replicas: addrs}
	r.brokers[name] = b
	began := time.Now()
	if process {
		raw := make([]json.RawMessage, len(topics))
		for i, t := range topics {
			raw[i], _ = json.Marshal(topicEntry{Name: t.Name, ReadQueueNums: t.ReadQueueNums, WriteQueueNums: t.WriteQueueNums})
		}
		cfg, _ := json.Marshal(brokerConfig{Nameservers: addrs, Cluster: cluster, BrokerName: name, Addresses: []string{address}, Topics: raw, ChunkSize: int(chunk)})
		if err := r.startBrokerProcess(b, cfg); err != nil {
			return err
		}
	} else {
		pending := map[string]bool{}
		for _, a := range addrs {
			pending[a] = true
		}
		agent, err := brokeragent.New(brokeragent.Options{
			Nameservers: addrs, Cluster: cluster, BrokerName: name, Addresses: []string{address},
			Topics: topics, ChunkSize: int(chunk), Backoff: fastBackoff,
			Handler: StoreHandler(topics, func(a Answered) {
				r.mu.Lock()
				b.answered = append(b.answered, a)
				r.mu.Unlock()
			}),
			OnRegistered: func(address string, _ brokeragent.SessionInfo) {
				r.mu.Lock()
				delete(pending, address)
				r.mu.Unlock()
				r.notify()
			},
		})
		if err != nil {
			return err
		}
		b.agent = agent
		if err := agent.Start(context.Background()); err != nil {
			return err
		}
		within, err := st.within()
		if err != nil {
			return err
		}
		if err := r.until(within, func() bool { return len(pending) == 0 }, func() string {
			return fmt.Sprintf("registered with %v", slices.Sorted(mapKeys(pending)))
		}); err != nil {
			return err
		}
	}
	if st.has("report") {
		key, err := st.str("report")
		if err != nil {
			return err
		}
		r.report(key, time.Since(began).Milliseconds(), 0)
	}
	return nil
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func (r *run) startClient(st step) error {
	name, err := st.str("name")
	if err != nil {
		return err
	}
	if r.clients[name] != nil {
		return fmt.Errorf("client %q exists", name)
	}
	names, err := st.strs("replicas")
	if err != nil {
		return err
	}
	addrs, err := r.addresses(names)
	if err != nil {
		return err
	}
	sdk, err := client.New(client.Options{
		Nameservers:    addrs,
		Backoff:        fastBackoff,
		OnConnected:    func(string, string) { r.notify() },
		OnDisconnected: func(string, error) { r.notify() },
	})
	if err != nil {
		return err
	}
	r.clients[name] = &conClient{sdk: sdk, view: map[string]viewEntry{}}
	return nil
}

func (r *run) watch(st step) error {
	c, _, err := r.client(st)
	if err != nil {
		return err
	}
	topics, err := st.topicNames()
	if err != nil {
		return err
	}
	c.watches = append(c.watches, c.sdk.Watch(topics, func(ch client.RouteChange) {
		r.mu.Lock()
		c.view[ch.Topic] = viewEntry{route: ch.Route, at: time.Now()}
		r.mu.Unlock()
		r.notify()
	}))
	return nil
}

func (r *run) expectConnected(st step) error {
	c, _, err := r.client(st)
	if err != nil {
		return err
	}
	names, err := st.strs("replicas")
	if err != nil {
		return err
	}
	want, err := r.addresses(names)
	if err != nil {
		return err
	}
	within, err := st.within()
	if err != nil {
		return err
	}
	return r.until(within, func() bool { return slices.Contains(want, c.sdk.Address()) }, func() string {
		return fmt.Sprintf("connected to one of %v (now: %q)", want, c.sdk.Address())
	})
}

func brokerNames(route *pb.Route) []string {
	out := []string{}
	for _, b := range route.GetBrokers() {
		out = append(out, b.GetBrokerName())
	}
	sort.Strings(out)
	return out
}

func queuesAre(route *pb.Route, q uint32) bool {
	for _, b := range route.GetBrokers() {
		if b.GetReadQueueNums() != q || b.GetWriteQueueNums() != q {
			return false
		}
	}
	return true
}

func (r *run) expectView(st step) error {
	c, _, err := r.client(st)
	if err != nil {
		return err
	}
	topics, err := st.topicNames()
	if err != nil {
		return err
	}
	want, err := st.strs("brokers")
	if err != nil {
		return err
	}
	want = slices.Sorted(slices.Values(want))
	if want == nil {
		want = []string{}
	}
	q, err := st.num("queues", -1)
	if err != nil {
		return err
	}
	within, err := st.within()
	if err != nil {
		return err
	}
	holds := func(t string) bool {
		route := c.view[t].route
		return slices.Equal(brokerNames(route), want) && (q < 0 || queuesAre(route, uint32(q)))
	}
	err = r.until(within, func() bool {
		for _, t := range topics {
			if !holds(t) {
				return false
			}
		}
		return true
	}, func() string {
		var off []string
		for _, t := range topics {
			if !holds(t) {
				off = append(off, t)
			}
		}
		return fmt.Sprintf("view of %d topic(s) not %v, e.g. %s: %v", len(off), want, off[0], brokerNames(c.view[off[0]].route))
	})
	if err != nil || !st.has("report") {
		return err
	}
	since, err := r.mark(st)
	if err != nil {
		return err
	}
	key, err := st.str("report")
	if err != nil {
		return err
	}
	budget, err := st.num("budget_ms", 0)
	if err != nil {
		return err
	}
	last := since.at
	r.mu.Lock()
	for _, t := range topics {
		if at := c.view[t].at; at.After(last) {
			last = at
		}
	}
	r.mu.Unlock()
	r.report(key, last.Sub(since.at).Milliseconds(), budget)
	return nil
}

func (r *run) expectRouteEvents(st step) error {
	c, name, err := r.client(st)
	if err != nil {
		return err
	}
	var base client.Stats
	if st.has("since") {
		m, err := r.mark(st)
		if err != nil {
			return err
		}
		var ok bool
		if base, ok = m.counters[name]; !ok {
			return fmt.Errorf("client %q did not exist at the mark", name)
		}
	}
	now := c.sdk.Stats()
	events, bytes := int64(now.RouteEvents-base.RouteEvents), int64(now.RouteEventBytes-base.RouteEventBytes)
	if st.has("events") {
		want, err := st.num("events", 0)
		if err != nil {
			return err
		}
		if events != want {
			return fmt.Errorf("%d route events, expected %d", events, want)
		}
	}
	if st.has("bytes") {
		want, err := st.num("bytes", 0)
		if err != nil {
			return err
		}
		if bytes != want {
			return fmt.Errorf("%d route event bytes, expected %d", bytes, want)
		}
	}
	if st.has("report") {
		key, err := st.str("report")
		if err != nil {
			return err
		}
		r.report(key, bytes, 0)
	}
	return nil
}

func (r *run) doMark(st step) error {
	name, err := st.str("name")
	if err != nil {
		return err
	}
	m := mark{at: time.Now(), counters: map[string]client.Stats{}}
	for n, c := range r.clients {
		m.counters[n] = c.sdk.Stats()
	}
	r.marks[name] = m
	return nil
}

func (r *run) killReplica(st step) error {
	name, err := st.str("replica")
	if err != nil {
		return err
	}
	rp, err := r.replica(name)
	if err != nil {
		return err
	}
	sig, err := st.str("signal")
	if err != nil {
		return err
	}
	switch sig {
	case "SIGKILL":
		rp.server.Kill(syscall.SIGKILL)
	case "SIGTERM":
		rp.server.Kill(syscall.SIGTERM)
	default:
		return fmt.Errorf("signal must be SIGKILL or SIGTERM, got %s", sig)
	}
	return nil
}

func (r *run) killBroker(st step) error {
	b, err := r.broker(st)
	if err != nil {
		return err
	}
	if b.proc == nil {
		return errors.New(`kill_broker needs a broker started with "process": true`)
	}
	_ = b.proc.Process.Signal(syscall.SIGKILL)
	<-b.exited
	return nil
}

func (r *run) admin(st step) error {
	name, err := st.str("replica")
	if err != nil {
		return err
	}
	rp, err := r.replica(name)
	if err != nil {
		return err
	}
	call, err := st.str("call")
	if err != nil {
		return err
	}
	var te topicEntry
	if err := st.decode("topic", &te); err != nil {
		return err
	}
	var targets []string
	if st.has("broker_names") {
		if targets, err = st.strs("broker_names"); err != nil {
			return err
		}
	}
	var want map[string]string
	if err := st.decode("expect", &want); err != nil {
		return err
	}
	topic := brokeragent.Topic(te.Name)
	if te.ReadQueueNums != 0 {
		topic.ReadQueueNums = te.ReadQueueNums
	}
	if te.WriteQueueNums != 0 {
		topic.WriteQueueNums = te.WriteQueueNums
	}
	admin := pb.NewAdminClient(rp.conn)
	ctx, cancel := context.WithTimeout(context.Background(), defaultWithin)
	defer cancel()
	var trailer metadata.MD
	var results []*pb.BrokerResult
	var res interface {
		proto.Message
		GetResults() []*pb.BrokerResult
	}
	switch call {
	case "create_topic":
		var out *pb.CreateTopicResponse
		out, err = admin.CreateTopic(ctx, &pb.CreateTopicRequest{Topic: topic, BrokerNames: targets}, grpc.Trailer(&trailer))
		res = out
		if out == nil {
			res = &pb.CreateTopicResponse{}
		}
	case "update_topic":
		var out *pb.UpdateTopicResponse
		out, err = admin.UpdateTopic(ctx, &pb.UpdateTopicRequest{Topic: topic, BrokerNames: targets}, grpc.Trailer(&trailer))
		res = out
		if out == nil {
			res = &pb.UpdateTopicResponse{}
		}
	case "delete_topic":
		var out *pb.DeleteTopicResponse
		out, err = admin.DeleteTopic(ctx, &pb.DeleteTopicRequest{Topic: te.Name, BrokerNames: targets}, grpc.Trailer(&trailer))
		res = out
		if out == nil {
			res = &pb.DeleteTopicResponse{}
		}
	default:
		return fmt.Errorf("unknown admin call %q", call)
	}
	failed := err != nil
	if failed {
		// A write that not every target applied fails with a status; its trailing metadata
		// nameserver-results-bin carries the encoded response with every broker's outcome.
		bin := trailer.Get("nameserver-results-bin")
		if len(bin) == 0 {
			return fmt.Errorf("%s failed without results: %w", call, err)
		}
		if uerr := proto.Unmarshal([]byte(bin[0]), res); uerr != nil {
			return fmt.Errorf("%s: nameserver-results-bin: %w", call, uerr)
		}
	}
	results = res.GetResults()
	got := map[string]string{}
	allOK := true
	var messages []string
	for _, x := range results {
		got[x.GetBrokerName()] = x.GetOutcome().String()
		allOK = allOK && x.GetOutcome() == pb.CommandOutcome_COMMAND_OUTCOME_OK
		if x.GetMessage() != "" {
			messages = append(messages, x.GetMessage())
		}
	}
	if len(results) != len(want) || !mapsEqual(got, want) {
		return fmt.Errorf("results %v (%s), expected %v", got, strings.Join(messages, "; "), want)
	}
	if failed == allOK {
		return fmt.Errorf("the call failed=%v (%v) with outcomes %v", failed, err, got)
	}
	return nil
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if bv, ok := b[k]; !ok || bv != v {
			return false
		}
	}
	return true
}

func (r *run) getRoute(st step) error {
	topic, err := st.str("topic")
	if err != nil {
		return err
	}
	if st.has("client") == st.has("replica") {
		return errors.New(`exactly one of "client" and "replica"`)
	}
	var route *pb.Route
	if st.has("client") {
		c, _, cerr := r.client(st)
		if cerr != nil {
			return cerr
		}
		ctx, cancel := context.WithTimeout(context.Background(), defaultWithin)
		route, err = c.sdk.GetRoute(ctx, topic)
		cancel()
	} else {
		name, rerr := st.str("replica")
		if rerr != nil {
			return rerr
		}
		rp, rerr := r.replica(name)
		if rerr != nil {
			return rerr
		}
		ctx, cancel := context.WithTimeout(context.Background(), defaultWithin)
		var res *pb.GetRouteResponse
		res, err = pb.NewRouteQueryClient(rp.conn).GetRoute(ctx, &pb.GetRouteRequest{Topic: topic})
		cancel()
		route = res.GetRoute()
	}
	if st.has("error") {
		want, serr := st.str("error")
		if serr != nil {
			return serr
		}
		if err == nil {
			return fmt.Errorf("GetRoute %s: expected %s, got a route %v", topic, want, brokerNames(route))
		}
		if got := codeName(err); got != want {
			return fmt.Errorf("GetRoute %s: expected %s, got %s (%v)", topic, want, got, err)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("GetRoute %s failed: %w", topic, err)
	}
	want, err := st.strs("brokers")
	if err != nil {
		return err
	}
	want = slices.Sorted(slices.Values(want))
	if got := brokerNames(route); !slices.Equal(got, want) {
		return fmt.Errorf("GetRoute %s: brokers %v, expected %v", topic, got, want)
	}
	if st.has("queues") {
		q, err := st.num("queues", 0)
		if err != nil {
			return err
		}
		if !queuesAre(route, uint32(q)) {
			return fmt.Errorf("GetRoute %s: queue counts differ from %d: %v", topic, q, route)
		}
	}
	return nil
}

// codeName is the status code's name as the README writes it (UNAVAILABLE, NOT_FOUND, ...).
func codeName(err error) string {
	if status.Code(err) == codes.OK {
		return "OK"
	}
	var b strings.Builder
	for i, ch := range status.Code(err).String() {
		if i > 0 && ch >= 'A' && ch <= 'Z' {
			b.WriteByte('_')
		}
		b.WriteRune(ch)
	}
	return strings.ToUpper(b.String())
}

func (r *run) expectBrokerCommands(st step) error {
	b, err := r.broker(st)
	if err != nil {
		return err
	}
	if b.agent == nil {
		return errors.New("expect_broker_commands needs an in-process broker")
	}
	var want []Answered
	if err := st.decode("commands", &want); err != nil {
		return err
	}
	r.mu.Lock()
	got := slices.Clone(b.answered)
	r.mu.Unlock()
	if !slices.Equal(got, want) {
		return fmt.Errorf("the broker answered %v, expected %v", got, want)
	}
	return nil
}

func (r *run) expectRegistration(st step) error {
	b, err := r.broker(st)
	if err != nil {
		return err
	}
	if b.agent == nil {
		return errors.New("expect_registration needs an in-process broker")
	}
	chunks, err := st.num("chunks", 0)
	if err != nil {
		return err
	}
	topics, err := st.num("topics", 0)
	if err != nil {
		return err
	}
	name, _ := st.str("broker")
	stats := b.agent.SessionStats()
	if len(stats) != len(b.replicas) {
		return fmt.Errorf("%d sessions, expected %d", len(stats), len(b.replicas))
	}
	for _, s := range stats {
		if int64(s.LastChunkCount) != chunks {
			return fmt.Errorf("%s: registration sent in %d chunks, expected %d", s.Address, s.LastChunkCount, chunks)
		}
		var conn *grpc.ClientConn
		for _, rp := range r.replicas {
			if rp.server.Address == s.Address {
				conn = rp.conn
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), defaultWithin)
		listed, err := pb.NewAdminClient(conn).ListBrokers(ctx, &pb.ListBrokersRequest{})
		cancel()
		if err != nil {
			return err
		}
		var count int64 = -1
		for _, info := range listed.GetBrokers() {
			if info.GetBrokerName() == name {
				count = int64(info.GetTopicCount())
			}
		}
		if count != topics {
			return fmt.Errorf("%s: holds %d topics of %s, expected %d", s.Address, count, name, topics)
		}
	}
	if st.has("report") {
		key, err := st.str("report")
		if err != nil {
			return err
		}
		r.report(key, chunks, 0)
	}
	return nil
}

func (r *run) cleanup() {
	for _, c := range r.clients {
		for _, w := range c.watches {
			w.Close()
		}
		c.sdk.Close()
	}
	var wg sync.WaitGroup
	for _, b := range r.brokers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if b.agent != nil {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				_ = b.agent.Stop(ctx)
				cancel()
			}
			if b.proc != nil {
				_ = b.proc.Process.Signal(syscall.SIGKILL)
				<-b.exited
			}
		}()
	}
	wg.Wait()
	for _, rp := range r.replicas {
		_ = rp.conn.Close()
		wg.Add(1)
		go func() {
			defer wg.Done()
			rp.server.Stop()
		}()
	}
	wg.Wait()
}

// BrokerProcessEnv names the environment variable that turns a test binary into a conformance broker
// process (see MaybeRunBrokerProcess).
const BrokerProcessEnv = "NAMESERVER_CONFORMANCE_BROKER"

func (r *run) startBrokerProcess(b *broker, cfg []byte) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), BrokerProcessEnv+"="+string(cfg))
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	b.proc, b.exited = cmd, make(chan struct{})
	pending := map[string]bool{}
	for _, a := range b.replicas {
		pending[a] = true
	}
	registered := make(chan struct{})
	var once sync.Once
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			var line struct {
				Event   string `json:"event"`
				Address string `json:"address"`
			}
			if json.Unmarshal(sc.Bytes(), &line) == nil && line.Event == "registered" {
				delete(pending, line.Address)
				if len(pending) == 0 {
					once.Do(func() { close(registered) })
				}
			}
		}
		_ = cmd.Wait()
		close(b.exited)
	}()
	select {
	case <-registered:
		return nil
	case <-b.exited:
		return errors.New("the broker process exited before registering")
	case <-time.After(defaultWithin):
		return fmt.Errorf("the broker process did not register with every replica within %v", defaultWithin)
	}
}

// MaybeRunBrokerProcess runs the conformance broker process when the environment asks for it (the
// runner re-executes its test binary for brokers that a scenario SIGKILLs) and then exits; otherwise
// it returns at once. Call it first in TestMain. The process prints {"event":"registered",
// "address":...} per NameServer that accepted it, and leaves gracefully on SIGTERM.
func MaybeRunBrokerProcess() {
	cfgText := os.Getenv(BrokerProcessEnv)
	if cfgText == "" {
		return
	}
	var cfg brokerConfig
	if err := json.Unmarshal([]byte(cfgText), &cfg); err != nil {
		fmt.Fprintln(os.Stderr, "conformance broker:", err)
		os.Exit(2)
	}
	topics, err := topicConfigs(cfg.Topics, defaultQueues)
	if err != nil {
		fmt.Fprintln(os.Stderr, "conformance broker:", err)
		os.Exit(2)
	}
	var printMu sync.Mutex
	agent, err := brokeragent.New(brokeragent.Options{
		Nameservers: cfg.Nameservers, Cluster: cfg.Cluster, BrokerName: cfg.BrokerName, Addresses: cfg.Addresses,
		Topics: topics, ChunkSize: cfg.ChunkSize, Backoff: fastBackoff,
		OnRegistered: func(address string, _ brokeragent.SessionInfo) {
			line, _ := json.Marshal(map[string]string{"event": "registered", "address": address})
			printMu.Lock()
			os.Stdout.Write(append(line, '\n'))
			printMu.Unlock()
		},
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "conformance broker:", err)
		os.Exit(2)
	}
	if err := agent.Start(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, "conformance broker:", err)
	}
	sig := make(chan os.Signal, 1)
	signalNotify(sig)
	<-sig
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	_ = agent.Stop(ctx)
	cancel()
	os.Exit(0)
}

func signalNotify(c chan<- os.Signal) { signal.Notify(c, syscall.SIGTERM, os.Interrupt) }
