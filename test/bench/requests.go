/*
Copyright 2026 The aipm-operator Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

package main

import (
	"cmp"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"k8s.io/client-go/rest"
)

// request names one kind of API request: a verb and a resource, with its
// subresource if any ("patch aiproducts/status").
type request struct{ Verb, Resource string }

func (r request) String() string { return r.Verb + " " + r.Resource }

func (r request) write() bool {
	switch r.Verb {
	case "create", "update", "patch", "apply", "delete", "deletecollection":
		return true
	}
	return false
}

// counts holds how many requests of each kind a client made.
type counts map[request]int

func (c counts) minus(earlier counts) counts {
	out := counts{}
	for k, v := range c {
		if d := v - earlier[k]; d != 0 {
			out[k] = d
		}
	}
	return out
}

func (c counts) total() (all, writes int) {
	for k, v := range c {
		all += v
		if k.write() {
			writes += v
		}
	}
	return all, writes
}

// sorted lists the kinds by count, largest first.
func (c counts) sorted() []request {
	keys := make([]request, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if c[keys[i]] != c[keys[j]] {
			return c[keys[i]] > c[keys[j]]
		}
		return keys[i].String() < keys[j].String()
	})
	return keys
}

// writeMix lists the writes by kind, for the progress log: which kinds
// move, and which wait, shows where a run's time goes.
func (c counts) writeMix() string {
	var parts []string
	for _, k := range c.sorted() {
		if k.write() {
			parts = append(parts, fmt.Sprintf("%s %d", k, c[k]))
		}
	}
	return strings.Join(parts, ", ")
}

// counter tallies requests by kind, the failed ones by status code, and
// when the last write was made, so the harness can tell when a client has
// gone quiet.
type counter struct {
	mu        sync.Mutex
	byKind    counts
	failed    map[int]int
	lastWrite time.Time
}

func newCounter() *counter { return &counter{byKind: counts{}, failed: map[int]int{}} }

func (c *counter) add(r request) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.byKind[r]++
	if r.write() {
		c.lastWrite = time.Now()
	}
}

func (c *counter) fail(code int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.failed[code]++
}

func (c *counter) snapshot() (counts, map[int]int, time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(counts, len(c.byKind))
	for k, v := range c.byKind {
		out[k] = v
	}
	failed := make(map[int]int, len(c.failed))
	for k, v := range c.failed {
		failed[k] = v
	}
	return out, failed, c.lastWrite
}

// classify names a request to the Kubernetes API from its method and URL,
// the way the API server's request info does, closely enough to count.
func classify(method string, u *url.URL, contentType string) request {
	parts := strings.Split(strings.Trim(u.Path, "/"), "/")
	var rest []string
	switch {
	case len(parts) >= 2 && parts[0] == "api":
		rest = parts[2:]
	case len(parts) >= 3 && parts[0] == "apis":
		rest = parts[3:]
	}
	if len(rest) == 0 {
		return request{Verb: strings.ToLower(method), Resource: "discovery"}
	}
	if rest[0] == "namespaces" && len(rest) > 2 {
		rest = rest[2:]
	}
	resource, name := rest[0], ""
	if len(rest) > 1 {
		name = rest[1]
	}
	if len(rest) > 2 {
		resource += "/" + rest[2]
	}
	verb := ""
	switch method {
	case http.MethodGet:
		switch {
		case u.Query().Get("watch") == "true" || u.Query().Get("watch") == "1":
			verb = "watch"
		case name == "":
			verb = "list"
		default:
			verb = "get"
		}
	case http.MethodPost:
		verb = "create"
	case http.MethodPut:
		verb = "update"
	case http.MethodPatch:
		verb = "patch"
		if strings.HasPrefix(contentType, "application/apply-patch") {
			verb = "apply"
		}
	case http.MethodDelete:
		verb = "delete"
		if name == "" {
			verb = "deletecollection"
		}
	default:
		verb = strings.ToLower(method)
	}
	return request{Verb: verb, Resource: resource}
}

// countingTransport counts the requests of a client of the harness's own.
type countingTransport struct {
	next http.RoundTripper
	c    *counter
}

func (t countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	t.c.add(classify(r.Method, r.URL, r.Header.Get("Content-Type")))
	resp, err := t.next.RoundTrip(r)
	if err == nil && resp.StatusCode >= 400 {
		t.c.fail(resp.StatusCode)
	}
	return resp, err
}

// countedConfig returns a copy of cfg whose requests c counts.
func countedConfig(cfg *rest.Config, c *counter, qps float32, burst int) *rest.Config {
	out := rest.CopyConfig(cfg)
	out.QPS, out.Burst = qps, burst
	out.Wrap(func(rt http.RoundTripper) http.RoundTripper { return countingTransport{next: rt, c: c} })
	return out
}

// proxy stands between a client run as a separate process (the operator)
// and the API server, and counts what passes. The client speaks plain HTTP
// to it with no credentials; the proxy forwards with the API server's own
// client certificate.
type proxy struct {
	*counter
	URL string
	srv *http.Server
	// trace, when set, receives a line per request but watches, in the
	// order they arrive: what one canary costs, step by step.
	trace   io.Writer
	traceMu sync.Mutex
}

func startProxy(cfg *rest.Config) (*proxy, error) {
	target, err := url.Parse(cfg.Host)
	if err != nil {
		return nil, err
	}
	if target.Scheme == "" {
		target, err = url.Parse("https://" + cfg.Host)
		if err != nil {
			return nil, err
		}
	}
	rt, err := rest.TransportFor(cfg)
	if err != nil {
		return nil, err
	}
	p := &proxy{counter: newCounter()}
	rp := &httputil.ReverseProxy{
		Rewrite:   func(pr *httputil.ProxyRequest) { pr.SetURL(target); pr.Out.Host = target.Host },
		Transport: rt,
		// No FlushInterval: the proxy flushes a response of unknown
		// length, a watch, after every write anyway, and flushing every
		// other response after each write cost the harness a syscall a
		// time, on the cores the operator and the API server share.
		// A client closing its watches on shutdown is not news.
		ErrorLog: log.New(io.Discard, "", 0),
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p.URL = "http://" + l.Addr().String()
	p.srv = &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req := classify(r.Method, r.URL, r.Header.Get("Content-Type"))
		p.add(req)
		sw := &statusWriter{ResponseWriter: w, c: p.counter}
		rp.ServeHTTP(sw, r)
		if req.Verb == "watch" {
			return
		}
		p.traceMu.Lock()
		defer p.traceMu.Unlock()
		if p.trace != nil {
			fmt.Fprintf(p.trace, "%s %d %s %s\n", time.Now().Format("15:04:05.000"), cmp.Or(sw.code, http.StatusOK), req.Verb, r.URL.Path)
		}
	})}
	go func() { _ = p.srv.Serve(l) }()
	return p, nil
}

func (p *proxy) close() { _ = p.srv.Close() }

// setTrace sends a line per request to w from now on; nil stops it.
func (p *proxy) setTrace(w io.Writer) {
	p.traceMu.Lock()
	defer p.traceMu.Unlock()
	p.trace = w
}

// kubeconfig is a kubeconfig for a client of the proxy.
func (p *proxy) kubeconfig() string {
	return fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: bench
  cluster: {server: %q}
users:
- name: bench
  user: {}
contexts:
- name: bench
  context: {cluster: bench, user: bench}
current-context: bench
`, p.URL)
}

// statusWriter notes failed responses as their header goes out, since a
// watch's response may never end while the harness runs.
type statusWriter struct {
	http.ResponseWriter
	c    *counter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	w.code = code
	if code >= 400 {
		w.c.fail(code)
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}
