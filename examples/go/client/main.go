// Command client is a minimal route client in Go on the Go SDK
// (github.com/mq-nameserver/mq-nameserver/sdk/go/client): GetRoute for each topic, then a watch that
// prints every change, one JSON object per line, until SIGTERM/SIGINT. The Go twin of
// examples/python/client.py.
//
//	client --nameservers 127.0.0.1:9876 --topic orders --topic refunds
package main

import (
	"context"
	"encoding/json"
	"flag"
	"log"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"google.golang.org/grpc/status"

	"github.com/mq-nameserver/mq-nameserver/sdk/go/client"
	pb "github.com/mq-nameserver/mq-nameserver/sdk/go/nameserverv1"
)

type list []string

func (l *list) String() string     { return strings.Join(*l, ",") }
func (l *list) Set(v string) error { *l = append(*l, v); return nil }

func emit(fields map[string]any) {
	b, _ := json.Marshal(fields)
	os.Stdout.Write(append(b, '\n'))
}

func brokers(r *pb.Route) []string {
	var out []string
	for _, b := range r.GetBrokers() {
		out = append(out, b.GetBrokerName())
	}
	return out
}

func main() {
	var topics list
	nameservers := flag.String("nameservers", "127.0.0.1:9876", "NameServer addresses, comma-separated")
	flag.Var(&topics, "topic", "topic to follow (repeatable)")
	flag.Parse()

	ns, err := client.New(client.Options{
		Nameservers: []string{*nameservers},
		OnConnected: func(a, id string) { emit(map[string]any{"event": "connected", "nameserver": a, "server_id": id}) },
	})
	if err != nil {
		log.Fatal(err)
	}
	defer ns.Close()
	for _, t := range topics {
		r, err := ns.GetRoute(context.Background(), t)
		emit(map[string]any{"event": "get_route", "topic": t, "code": status.Code(err).String(), "version": r.GetVersion(), "brokers": brokers(r)})
	}
	w := ns.Watch(topics, func(c client.RouteChange) {
		emit(map[string]any{"event": "route", "topic": c.Topic, "removed": c.Route == nil, "version": c.Route.GetVersion(), "brokers": brokers(c.Route)})
	})
	defer w.Close()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, os.Interrupt)
	<-sig
}
