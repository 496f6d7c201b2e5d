package client_test

import (
	"context"
	"fmt"
	"log"

	"github.com/mq-nameserver/mq-nameserver/sdk/go/client"
)

// The route of a topic, from any replica that knows it.
func ExampleNameServerClient_GetRoute() {
	ns, err := client.New(client.Options{Nameservers: []string{nameserver}}) // e.g. "nameserver.mq.svc:9876"
	if err != nil {
		log.Fatal(err)
	}
	defer ns.Close()

	route, err := ns.GetRoute(context.Background(), "orders")
	if err != nil {
		log.Fatal(err) // status.Code(err) == codes.NotFound: no live broker has the topic
	}
	for _, b := range route.GetBrokers() {
		fmt.Printf("%s: %s, %d write queues, leader %s\n", route.GetTopic(), b.GetBrokerName(), b.GetWriteQueueNums(), b.GetReplicas()[0].GetAddresses()[0])
	}
	// Output: orders: broker-a, 4 write queues, leader 127.0.0.1:10911
}

// Following a topic: the current route first, then every change (a nil Route: removed).
func ExampleNameServerClient_Watch() {
	ns, err := client.New(client.Options{Nameservers: []string{nameserver}})
	if err != nil {
		log.Fatal(err)
	}
	defer ns.Close()

	changes := make(chan client.RouteChange, 16)
	w := ns.Watch([]string{"orders"}, func(c client.RouteChange) { changes <- c })
	defer w.Close()

	c := <-changes
	fmt.Println(c.Topic, "is on", len(c.Route.GetBrokers()), "replica set(s)")
	// Output: orders is on 1 replica set(s)
}
