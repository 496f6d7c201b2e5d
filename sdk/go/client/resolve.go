package client

import (
	"context"
	"fmt"
	"net"
	"strings"
)

// LookupHost resolves a host name to its addresses; net.DefaultResolver.LookupHost is the default.
type LookupHost func(ctx context.Context, host string) ([]string, error)

// ResolveAddresses expands NameServer entries ("host:port", or several in one comma-separated
// string) into concrete addresses: a host name becomes every address it resolves to (a Kubernetes
// headless Service gives one record per replica). Duplicates are removed and order is kept. An entry
// that does not parse or resolve is skipped and passed to onError (which may be nil), so one bad
// entry does not stop the others. lookup nil means net.DefaultResolver.LookupHost.
func ResolveAddresses(ctx context.Context, entries []string, lookup LookupHost, onError func(entry string, err error)) []string {
	if lookup == nil {
		lookup = net.DefaultResolver.LookupHost
	}
	seen := map[string]bool{}
	var out []string
	add := func(a string) {
		if !seen[a] {
			seen[a] = true
			out = append(out, a)
		}
	}
	for _, e := range splitEntries(entries) {
		host, port, err := net.SplitHostPort(e)
		if err == nil && (host == "" || port == "") {
			err = fmt.Errorf("not host:port: %q", e)
		}
		if err != nil {
			if onError != nil {
				onError(e, err)
			}
			continue
		}
		if net.ParseIP(host) != nil {
			add(net.JoinHostPort(host, port))
			continue
		}
		found, err := lookup(ctx, host)
		if err != nil {
			if onError != nil {
				onError(e, err)
			}
			continue
		}
		for _, a := range found {
			add(net.JoinHostPort(a, port))
		}
	}
	return out
}

// splitEntries splits comma-separated entries and drops empty ones.
func splitEntries(entries []string) []string {
	var out []string
	for _, e := range entries {
		for _, part := range strings.Split(e, ",") {
			if p := strings.TrimSpace(part); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}
