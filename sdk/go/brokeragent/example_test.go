package brokeragent_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/mq-nameserver/mq-nameserver/sdk/go/brokeragent"
	pb "github.com/mq-nameserver/mq-nameserver/sdk/go/nameserverv1"
)

// A broker joins the NameServers, applies the topics an admin creates, and leaves.
func ExampleBrokerAgent() {
	topics := map[string]*pb.TopicConfig{} // what the broker persists
	registered := make(chan string, 1)
	agent, err := brokeragent.New(brokeragent.Options{
		Nameservers: []string{nameserver}, // e.g. "nameserver.mq.svc:9876": every replica it resolves to
		Cluster:     "c1",
		BrokerName:  "example-broker",
		Addresses:   []string{"127.0.0.1:10911"}, // where clients reach this broker
		Topics:      []*pb.TopicConfig{brokeragent.Topic("orders")},
		Handler: brokeragent.CommandHandler{
			CreateTopic: func(_ context.Context, t *pb.TopicConfig) (brokeragent.CommandReply, error) {
				if held, ok := topics[t.GetName()]; ok && !brokeragent.SameTopicConfig(held, t) {
					return brokeragent.CommandReply{Outcome: pb.CommandOutcome_COMMAND_OUTCOME_ALREADY_EXISTS}, nil
				}
				topics[t.GetName()] = t
				return brokeragent.CommandReply{Outcome: pb.CommandOutcome_COMMAND_OUTCOME_OK}, nil
			},
		},
		OnRegistered: func(address string, info brokeragent.SessionInfo) { registered <- info.ServerID },
	})
	if err != nil {
		log.Fatal(err)
	}
	if err := agent.Start(context.Background()); err != nil {
		log.Fatal(err)
	}
	<-registered
	fmt.Println("registered, counter", agent.Counter())

	// A change is a delta to every NameServer.
	if err := agent.UpsertTopics(&pb.TopicConfig{Name: "payments", ReadQueueNums: 4, WriteQueueNums: 4}); err != nil {
		log.Fatal(err)
	}
	fmt.Println("topics", len(agent.Topics()), "counter", agent.Counter())

	// Leaving unregisters: the routes disappear at once.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := agent.Stop(ctx); err != nil {
		log.Fatal(err)
	}
	// Output:
	// registered, counter 1
	// topics 2 counter 2
}
