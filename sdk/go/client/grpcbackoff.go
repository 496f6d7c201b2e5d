package client

import (
	grpcbackoff "google.golang.org/grpc/backoff"

	"github.com/mq-nameserver/mq-nameserver/sdk/go/backoff"
)

// grpcBackoffConfig keeps grpc-go's own reconnect back-off (120 s at most by default) within ours,
// so a NameServer that comes back is found within one of our back-off steps.
func grpcBackoffConfig(b backoff.Options) grpcbackoff.Config {
	return grpcbackoff.Config{BaseDelay: b.Initial, Multiplier: 1.6, Jitter: b.Jitter, MaxDelay: b.Max}
}
