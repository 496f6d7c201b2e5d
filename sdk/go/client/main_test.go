package client_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/mq-nameserver/mq-nameserver/sdk/go/brokeragent"
	"github.com/mq-nameserver/mq-nameserver/sdk/go/internal/testserver"
	pb "github.com/mq-nameserver/mq-nameserver/sdk/go/nameserverv1"
)

// nameserver is the address of the NameServer process TestMain starts for the examples and tests:
// broker "broker-a" holds topic "orders" (4 queues) there.
var nameserver string

// TestMain starts a real NameServer (a process of the repository's server on 127.0.0.1) with one
// registered broker, runs the tests and the examples, stops everything, and then fails when a
// goroutine outlived them.
func TestMain(m *testing.M) {
	code, err := runWithServer(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goroutines left after the tests:", err)
			code = 1
		}
	}
	os.Exit(code)
}

func runWithServer(m *testing.M) (int, error) {
	srv, err := testserver.Start()
	if err != nil {
		return 0, err
	}
	defer srv.Stop()
	nameserver = srv.Address
	registered := make(chan struct{}, 1)
	agent, err := brokeragent.New(brokeragent.Options{
		Nameservers: []string{srv.Address}, Cluster: "c1", BrokerName: "broker-a", Addresses: []string{"127.0.0.1:10911"},
		Topics:       []*pb.TopicConfig{{Name: "orders", ReadQueueNums: 4, WriteQueueNums: 4}},
		OnRegistered: func(string, brokeragent.SessionInfo) { registered <- struct{}{} },
	})
	if err != nil {
		return 0, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := agent.Start(ctx); err != nil {
		return 0, err
	}
	defer agent.Stop(context.Background())
	select {
	case <-registered:
	case <-ctx.Done():
		return 0, fmt.Errorf("broker-a did not register: %w", ctx.Err())
	}
	return m.Run(), nil
}
