// Package sdk is the Go SDK of the NameServer: a module of three packages and the generated stubs.
//
//   - [github.com/mq-nameserver/mq-nameserver/sdk/go/client]: NameServerClient, what producers and
//     consumers embed to find brokers (GetRoute with a route cache, Watch with held versions, failover
//     across replicas with jittered back-off, DNS expansion, warm-up aware).
//   - [github.com/mq-nameserver/mq-nameserver/sdk/go/brokeragent]: BrokerAgent, what a broker embeds
//     to join the NameServers (a Connect session to every replica, chunked registration, deltas,
//     heartbeats, commands with results, reconnect with back-off, DNS re-resolution).
//   - [github.com/mq-nameserver/mq-nameserver/sdk/go/backoff]: the jittered exponential back-off both use.
//   - [github.com/mq-nameserver/mq-nameserver/sdk/go/nameserverv1]: the generated messages and gRPC
//     stubs of the contract (proto/nameserver/v1).
//
// The TypeScript SDKs (src/client, src/broker-agent in the repository) behave the same and use the
// same names where Go allows; the conformance suite (test/conformance) runs the same scenarios
// against both.
package sdk
