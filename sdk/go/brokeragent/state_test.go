package brokeragent

import (
	"strings"
	"testing"

	pb "github.com/mq-nameserver/mq-nameserver/sdk/go/nameserverv1"
)

func newState(topics int, chunk int) *localState {
	var ts []*pb.TopicConfig
	for i := range topics {
		ts = append(ts, Topic("t"+strings.Repeat("0", 5-len(itoa(i)))+itoa(i)))
	}
	return newLocalState(header{cluster: "c1", brokerName: "b1", addresses: []string{"127.0.0.1:1"}}, ts, nil, 0, chunk)
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var b []byte
	for ; i > 0; i /= 10 {
		b = append([]byte{byte('0' + i%10)}, b...)
	}
	return string(b)
}

func TestRegistrationIsChunkedWithOneDataVersion(t *testing.T) {
	s := newState(12001, 5000)
	chunks := s.registration()
	if len(chunks) != 3 {
		t.Fatalf("%d chunks, want 3", len(chunks))
	}
	seen := map[string]bool{}
	for i, c := range chunks {
		if c.ChunkIndex != uint32(i) || c.ChunkCount != 3 || c.DataVersion.Counter != 1 || c.DataVersion.Epoch != s.epoch {
			t.Fatalf("chunk %d: index %d count %d version %v", i, c.ChunkIndex, c.ChunkCount, c.DataVersion)
		}
		if c.Permission != pb.Permission_PERMISSION_READ_WRITE || c.BrokerName != "b1" {
			t.Fatalf("chunk %d header: %v", i, c)
		}
		for _, tc := range c.Topics {
			if seen[tc.Name] {
				t.Fatalf("%s in two chunks", tc.Name)
			}
			seen[tc.Name] = true
		}
	}
	if len(seen) != 12001 || len(chunks[2].Topics) != 2001 {
		t.Fatalf("%d topics over the chunks, %d in the last", len(seen), len(chunks[2].Topics))
	}
	if &s.registration()[0] != &chunks[0] {
		t.Fatal("the registration was rebuilt at the same version")
	}
	if n := len(newState(0, 5000).registration()); n != 1 {
		t.Fatalf("a broker without topics registers in %d chunks, want 1", n)
	}
}

func TestChangesBumpTheCounterOnlyWhenSomethingChanges(t *testing.T) {
	s := newState(2, 10)
	if c := s.upsertTopics([]*pb.TopicConfig{Topic("t00000")}); c != nil {
		t.Fatalf("an unchanged topic made a change: %+v", c)
	}
	// Unspecified enums mean their defaults: still no change.
	if c := s.upsertTopics([]*pb.TopicConfig{{Name: "t00000", ReadQueueNums: 8, WriteQueueNums: 8}}); c != nil {
		t.Fatal("UNSPECIFIED permission/message type were taken for a change")
	}
	c := s.upsertTopics([]*pb.TopicConfig{{Name: "t00000", ReadQueueNums: 4, WriteQueueNums: 4}, Topic("new"), Topic("new")})
	if c == nil || c.baseCounter != 1 || c.counter != 2 || len(c.upsertTopics) != 2 {
		t.Fatalf("change: %+v", c)
	}
	if c := s.deleteTopics([]string{"absent"}); c != nil {
		t.Fatal("deleting an absent topic made a change")
	}
	if c := s.deleteTopics([]string{"new"}); c == nil || c.baseCounter != 2 || c.counter != 3 {
		t.Fatalf("delete: %+v", c)
	}
	if s.setPermission(pb.Permission_PERMISSION_UNSPECIFIED) {
		t.Fatal("UNSPECIFIED is READ_WRITE, the permission held")
	}
	if !s.setPermission(pb.Permission_PERMISSION_READ) || s.counter != 4 {
		t.Fatalf("a drain must move the counter: %d", s.counter)
	}
	g := &pb.GroupConfig{Name: "g", Subscriptions: []*pb.Subscription{{Topic: "a"}, {Topic: "b", Expression: "*"}}}
	if c := s.upsertGroups([]*pb.GroupConfig{g}); c == nil {
		t.Fatal("a new group made no change")
	}
	same := &pb.GroupConfig{Name: "g", ConsumeMode: pb.ConsumeMode_CONSUME_MODE_CLUSTERING, Subscriptions: []*pb.Subscription{{Topic: "b"}, {Topic: "a", FilterType: pb.FilterType_FILTER_TYPE_TAG}}}
	if c := s.upsertGroups([]*pb.GroupConfig{same}); c != nil {
		t.Fatalf("the same group in other words made a change: %v", GroupDifferences(g, same))
	}
}

func TestDifferencesNameTheFields(t *testing.T) {
	a := &pb.TopicConfig{Name: "t", ReadQueueNums: 8, WriteQueueNums: 8, Attributes: map[string]string{"x": "1", "y": "2"}}
	b := &pb.TopicConfig{Name: "t", ReadQueueNums: 8, WriteQueueNums: 4, Permission: pb.Permission_PERMISSION_READ, Attributes: map[string]string{"y": "2", "x": "1"}}
	got := strings.Join(TopicDifferences(a, b), "; ")
	if got != "write_queue_nums 8 → 4; permission PERMISSION_READ_WRITE → PERMISSION_READ" {
		t.Fatalf("got %q", got)
	}
	if SameTopicConfig(a, b) || !SameTopicConfig(a, a) {
		t.Fatal("SameTopicConfig")
	}
}

func TestTopicsAreCheckedLikeTheNameServerDoes(t *testing.T) {
	if c, err := normalizeTopic(&pb.TopicConfig{Name: "ok"}, 1024); err != nil || c.ReadQueueNums != DefaultQueueNums || c.WriteQueueNums != DefaultQueueNums {
		t.Fatalf("zero queue counts: %v %v", c, err)
	}
	for _, bad := range []*pb.TopicConfig{{Name: "sp ace"}, {Name: strings.Repeat("a", 128)}, {Name: "q", ReadQueueNums: 2000}} {
		if _, err := normalizeTopic(bad, 1024); err == nil {
			t.Fatalf("accepted %v", bad)
		}
	}
	if _, err := normalizeGroup(&pb.GroupConfig{Name: "g", Subscriptions: []*pb.Subscription{{Topic: "bad topic"}}}); err == nil {
		t.Fatal("accepted a subscription to an invalid topic name")
	}
}
