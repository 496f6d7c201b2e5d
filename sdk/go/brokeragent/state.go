package brokeragent

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"sort"
	"strings"

	"google.golang.org/protobuf/proto"

	pb "github.com/mq-nameserver/mq-nameserver/sdk/go/nameserverv1"
)

// DefaultQueueNums are the read and write queues of a topic that gives none (RocketMQ's
// BrokerConfig.defaultTopicQueueNums).
const DefaultQueueNums = 8

// DefaultChunkSize is the number of topics (and groups) per registration chunk.
const DefaultChunkSize = 5000

// DefaultMaxQueueNums is the largest queue count accepted for a topic (the NameServer's default limit).
const DefaultMaxQueueNums = 1024

var validName = regexp.MustCompile(`^[%|a-zA-Z0-9_-]+$`)

// checkName rejects what the NameServer would refuse, here, with a clear error to the caller: a bad
// name in a delta would otherwise fail on every NameServer and, through the re-register that
// follows, take the whole registration down with it.
func checkName(kind, name string, max int) error {
	if !validName.MatchString(name) || len(name) > max {
		return fmt.Errorf("invalid %s name %q: must match %s and have at most %d characters", kind, name, validName, max)
	}
	return nil
}

// Topic returns the configuration of a topic given by name only: DefaultQueueNums read and write
// queues, read-write, normal messages (what the TypeScript agent makes of a bare topic name).
func Topic(name string) *pb.TopicConfig {
	return &pb.TopicConfig{
		Name:           name,
		ReadQueueNums:  DefaultQueueNums,
		WriteQueueNums: DefaultQueueNums,
		Permission:     pb.Permission_PERMISSION_READ_WRITE,
		MessageType:    pb.MessageType_MESSAGE_TYPE_NORMAL,
	}
}

// normalizeTopic copies t, gives zero queue counts DefaultQueueNums, and checks the name and counts.
func normalizeTopic(t *pb.TopicConfig, maxQueueNums uint32) (*pb.TopicConfig, error) {
	if t == nil {
		return nil, fmt.Errorf("nil topic")
	}
	c := proto.Clone(t).(*pb.TopicConfig)
	if c.ReadQueueNums == 0 {
		c.ReadQueueNums = DefaultQueueNums
	}
	if c.WriteQueueNums == 0 {
		c.WriteQueueNums = DefaultQueueNums
	}
	if err := checkName("topic", c.Name, 127); err != nil {
		return nil, err
	}
	for _, f := range []struct {
		field string
		n     uint32
	}{{"read_queue_nums", c.ReadQueueNums}, {"write_queue_nums", c.WriteQueueNums}} {
		if f.n < 1 || f.n > maxQueueNums {
			return nil, fmt.Errorf("topic %s: %s must be in 1..%d, got %d", c.Name, f.field, maxQueueNums, f.n)
		}
	}
	return c, nil
}

// normalizeGroup copies g and checks its name and the topics of its subscriptions.
func normalizeGroup(g *pb.GroupConfig) (*pb.GroupConfig, error) {
	if g == nil {
		return nil, fmt.Errorf("nil group")
	}
	c := proto.Clone(g).(*pb.GroupConfig)
	if err := checkName("group", c.Name, 120); err != nil {
		return nil, err
	}
	for _, s := range c.Subscriptions {
		if err := checkName("topic", s.GetTopic(), 127); err != nil {
			return nil, fmt.Errorf("group %s: %w", c.Name, err)
		}
	}
	return c, nil
}

// NormalizePermission is the permission a topic or broker means: UNSPECIFIED is READ_WRITE.
func NormalizePermission(p pb.Permission) pb.Permission {
	if p == pb.Permission_PERMISSION_UNSPECIFIED {
		return pb.Permission_PERMISSION_READ_WRITE
	}
	return p
}

func normalizeMessageType(t pb.MessageType) pb.MessageType {
	if t == pb.MessageType_MESSAGE_TYPE_UNSPECIFIED {
		return pb.MessageType_MESSAGE_TYPE_NORMAL
	}
	return t
}

func normalizeConsumeMode(m pb.ConsumeMode) pb.ConsumeMode {
	if m == pb.ConsumeMode_CONSUME_MODE_UNSPECIFIED {
		return pb.ConsumeMode_CONSUME_MODE_CLUSTERING
	}
	return m
}

func attributesText(a map[string]string) string {
	keys := slices.Sorted(maps.Keys(a))
	var b strings.Builder
	b.WriteString("{")
	for i, k := range keys {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, "%q:%q", k, a[k])
	}
	b.WriteString("}")
	return b.String()
}

// TopicDifferences lists the fields in which two configurations of the same topic differ, each as
// "field a → b" (proto field names); empty when they mean the same. Unspecified enums equal their
// documented defaults and attribute order does not matter.
func TopicDifferences(held, wanted *pb.TopicConfig) []string {
	var out []string
	diff := func(field string, a, b any) {
		if a != b {
			out = append(out, fmt.Sprintf("%s %v → %v", field, a, b))
		}
	}
	diff("read_queue_nums", held.GetReadQueueNums(), wanted.GetReadQueueNums())
	diff("write_queue_nums", held.GetWriteQueueNums(), wanted.GetWriteQueueNums())
	diff("permission", NormalizePermission(held.GetPermission()).String(), NormalizePermission(wanted.GetPermission()).String())
	diff("message_type", normalizeMessageType(held.GetMessageType()).String(), normalizeMessageType(wanted.GetMessageType()).String())
	diff("attributes", attributesText(held.GetAttributes()), attributesText(wanted.GetAttributes()))
	return out
}

// GroupDifferences is TopicDifferences for consumer groups; subscription order does not matter and an
// empty filter expression is "*".
func GroupDifferences(held, wanted *pb.GroupConfig) []string {
	var out []string
	diff := func(field string, a, b any) {
		if a != b {
			out = append(out, fmt.Sprintf("%s %v → %v", field, a, b))
		}
	}
	subs := func(g *pb.GroupConfig) string {
		var parts []string
		for _, s := range g.GetSubscriptions() {
			expr := s.GetExpression()
			if expr == "" {
				expr = "*"
			}
			filter := s.GetFilterType()
			if filter == pb.FilterType_FILTER_TYPE_UNSPECIFIED {
				filter = pb.FilterType_FILTER_TYPE_TAG
			}
			parts = append(parts, fmt.Sprintf("[%q,%q,%s]", s.GetTopic(), expr, filter))
		}
		sort.Strings(parts)
		return "[" + strings.Join(parts, ",") + "]"
	}
	retry := func(g *pb.GroupConfig) string {
		r := g.GetRetryPolicy()
		return fmt.Sprintf("[%d,%d,%d]", r.GetMaxAttempts(), r.GetInitialBackoffMs(), r.GetMaxBackoffMs())
	}
	diff("consume_mode", normalizeConsumeMode(held.GetConsumeMode()).String(), normalizeConsumeMode(wanted.GetConsumeMode()).String())
	diff("subscriptions", subs(held), subs(wanted))
	diff("retry_policy", retry(held), retry(wanted))
	diff("consume_orderly", held.GetConsumeOrderly(), wanted.GetConsumeOrderly())
	diff("attributes", attributesText(held.GetAttributes()), attributesText(wanted.GetAttributes()))
	return out
}

// SameTopicConfig reports whether two topic configurations mean the same (see TopicDifferences). A
// broker uses it to tell an idempotent create (OK) from a conflicting one (ALREADY_EXISTS).
func SameTopicConfig(a, b *pb.TopicConfig) bool {
	return a.GetName() == b.GetName() && len(TopicDifferences(a, b)) == 0
}

// SameGroupConfig reports whether two group configurations mean the same (see GroupDifferences).
func SameGroupConfig(a, b *pb.GroupConfig) bool {
	return a.GetName() == b.GetName() && len(GroupDifferences(a, b)) == 0
}

// header is the broker identity repeated in every registration chunk.
type header struct {
	cluster         string
	brokerName      string
	brokerID        uint32
	addresses       []string
	zone            string
	softwareVersion string
}

// change is one change of topics or groups: what a ReportDelta carries.
type change struct {
	baseCounter  uint64
	counter      uint64
	upsertTopics []*pb.TopicConfig
	deleteTopics []string
	upsertGroups []*pb.GroupConfig
	deleteGroups []string
}

// localState is the broker's own view of what it reports: identity, topics, groups, permission, and
// the data version (a random epoch per agent, a counter that grows with every change). No network:
// it produces the two report shapes the sessions send, the chunked registration and the delta of one
// change. Not safe for concurrent use (the agent's lock guards it).
type localState struct {
	header     header
	epoch      string
	counter    uint64
	topics     map[string]*pb.TopicConfig
	groups     map[string]*pb.GroupConfig
	permission pb.Permission
	chunkSize  int
	builtAt    uint64
	built      []*pb.RegisterBrokerRequest
}

func newEpoch() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return hex.EncodeToString(b[:])
}

func newLocalState(h header, topics []*pb.TopicConfig, groups []*pb.GroupConfig, permission pb.Permission, chunkSize int) *localState {
	s := &localState{
		header:     h,
		epoch:      newEpoch(),
		counter:    1,
		topics:     map[string]*pb.TopicConfig{},
		groups:     map[string]*pb.GroupConfig{},
		permission: NormalizePermission(permission),
		chunkSize:  chunkSize,
	}
	for _, t := range topics {
		s.topics[t.Name] = t
	}
	for _, g := range groups {
		s.groups[g.Name] = g
	}
	return s
}

func (s *localState) bump(c change) *change {
	c.baseCounter = s.counter
	s.counter++
	c.counter = s.counter
	return &c
}

// upsertTopics adds or changes topics; those held with the same meaning are skipped. nil: no change.
func (s *localState) upsertTopics(cfgs []*pb.TopicConfig) *change {
	last := map[string]*pb.TopicConfig{}
	var order []string
	for _, c := range cfgs {
		if _, dup := last[c.Name]; !dup {
			order = append(order, c.Name)
		}
		last[c.Name] = c
	}
	var changed []*pb.TopicConfig
	for _, n := range order {
		c := last[n]
		if held := s.topics[n]; held == nil || !SameTopicConfig(held, c) {
			changed = append(changed, c)
		}
	}
	if len(changed) == 0 {
		return nil
	}
	for _, c := range changed {
		s.topics[c.Name] = c
	}
	return s.bump(change{upsertTopics: changed})
}

// deleteTopics removes topics; names not held are skipped.
func (s *localState) deleteTopics(names []string) *change {
	var gone []string
	for _, n := range names {
		if _, ok := s.topics[n]; ok {
			delete(s.topics, n)
			gone = append(gone, n)
		}
	}
	if len(gone) == 0 {
		return nil
	}
	return s.bump(change{deleteTopics: gone})
}

// upsertGroups adds or changes groups; those held with the same meaning are skipped.
func (s *localState) upsertGroups(cfgs []*pb.GroupConfig) *change {
	last := map[string]*pb.GroupConfig{}
	var order []string
	for _, c := range cfgs {
		if _, dup := last[c.Name]; !dup {
			order = append(order, c.Name)
		}
		last[c.Name] = c
	}
	var changed []*pb.GroupConfig
	for _, n := range order {
		c := last[n]
		if held := s.groups[n]; held == nil || !SameGroupConfig(held, c) {
			changed = append(changed, c)
		}
	}
	if len(changed) == 0 {
		return nil
	}
	for _, c := range changed {
		s.groups[c.Name] = c
	}
	return s.bump(change{upsertGroups: changed})
}

// deleteGroups removes groups; names not held are skipped.
func (s *localState) deleteGroups(names []string) *change {
	var gone []string
	for _, n := range names {
		if _, ok := s.groups[n]; ok {
			delete(s.groups, n)
			gone = append(gone, n)
		}
	}
	if len(gone) == 0 {
		return nil
	}
	return s.bump(change{deleteGroups: gone})
}

// setPermission changes the broker-wide permission; it reports whether it changed. The permission
// travels only in the registration, so a change means a full re-register; the counter still moves
// so that a NameServer holding the old version does not skip it as "already held".
func (s *localState) setPermission(p pb.Permission) bool {
	p = NormalizePermission(p)
	if p == s.permission {
		return false
	}
	s.permission = p
	s.counter++
	return true
}

// registration is the full report at the current version, as chunks of at most chunkSize topics and
// chunkSize groups each, sharing one data version, chunk_index 0..n-1 (topics and groups in name
// order). Built once per version; the messages are shared, never modified after.
func (s *localState) registration() []*pb.RegisterBrokerRequest {
	if s.built != nil && s.builtAt == s.counter {
		return s.built
	}
	topics := make([]*pb.TopicConfig, 0, len(s.topics))
	for _, n := range slices.Sorted(maps.Keys(s.topics)) {
		topics = append(topics, s.topics[n])
	}
	groups := make([]*pb.GroupConfig, 0, len(s.groups))
	for _, n := range slices.Sorted(maps.Keys(s.groups)) {
		groups = append(groups, s.groups[n])
	}
	n := max(1, (len(topics)+s.chunkSize-1)/s.chunkSize, (len(groups)+s.chunkSize-1)/s.chunkSize)
	part := func(i, total int) (int, int) { return min(i*s.chunkSize, total), min((i+1)*s.chunkSize, total) }
	chunks := make([]*pb.RegisterBrokerRequest, n)
	for i := range n {
		tf, tt := part(i, len(topics))
		gf, gt := part(i, len(groups))
		chunks[i] = &pb.RegisterBrokerRequest{
			Cluster:         s.header.cluster,
			BrokerName:      s.header.brokerName,
			BrokerId:        s.header.brokerID,
			Addresses:       s.header.addresses,
			Zone:            s.header.zone,
			SoftwareVersion: s.header.softwareVersion,
			DataVersion:     &pb.DataVersion{Epoch: s.epoch, Counter: s.counter},
			Topics:          topics[tf:tt],
			Groups:          groups[gf:gt],
			Permission:      s.permission,
			ChunkIndex:      uint32(i),
			ChunkCount:      uint32(n),
		}
	}
	s.builtAt, s.built = s.counter, chunks
	return chunks
}
