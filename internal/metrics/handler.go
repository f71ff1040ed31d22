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

package metrics

import (
	"compress/gzip"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

// Pattern is where Handler is to be served on controller-runtime's metrics
// server (its ExtraHandlers), which keeps "/metrics" for its own handler
// and refuses another on that path. A pattern with a method is more
// specific than one without, so every GET (and HEAD) of /metrics reaches
// Handler, behind the same authentication and authorization filter.
const Pattern = "GET /metrics"

// ExtraHandlers is what controller-runtime's metrics server is to be given
// (metricsserver.Options.ExtraHandlers) for Handler to answer its scrapes.
func ExtraHandlers() map[string]http.Handler {
	return map[string]http.Handler{Pattern: Handler(metrics.Registry)}
}

// Handler serves a scrape: every metric gathered from gatherer
// (controller-runtime's registry: reconcile, workqueue and client metrics,
// and the operator's counters), then the products' state gauges, built
// and written one family at a time.
//
// The state gauges are not on the registry: a registry builds every series
// of every family as a metric message before it writes the first, one
// allocation or more per series. Written a family at a time, a scrape holds
// one family's series, built in a few allocations each
// (BenchmarkScrapeFleet against BenchmarkScrapeFleetRegistry; the figures
// are in docs/benchmarks.md).
func Handler(gatherer prometheus.Gatherer) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mfs, err := gatherer.Gather()
		if err != nil {
			http.Error(w, "gathering metrics: "+err.Error(), http.StatusInternalServerError)
			return
		}
		format := expfmt.NegotiateAccept(r.Header, expfmt.DefaultAcceptedFormats()...)
		w.Header().Set("Content-Type", string(format))
		var out io.Writer = w
		if acceptsGzip(r.Header) {
			w.Header().Set("Content-Encoding", "gzip")
			gz := gzipWriters.Get().(*gzip.Writer)
			gz.Reset(w)
			defer func() {
				_ = gz.Close()
				gzipWriters.Put(gz)
			}()
			out = gz
		}
		// Past the first byte the status is sent; an error after it is the
		// scraper gone, and the scrape is abandoned.
		enc := expfmt.NewEncoder(out, format)
		_ = writeFamilies(enc, mfs, time.Now())
		if c, ok := enc.(expfmt.Closer); ok {
			_ = c.Close()
		}
	})
}

// writeFamilies writes the gathered families and then each state gauge.
func writeFamilies(enc expfmt.Encoder, gathered []*dto.MetricFamily, now time.Time) error {
	for _, mf := range gathered {
		if err := enc.Encode(mf); err != nil {
			return err
		}
	}
	for _, f := range states.families {
		if mf := states.metricFamily(f); mf != nil {
			if err := enc.Encode(mf); err != nil {
				return err
			}
		}
	}
	if mf := age.metricFamily(now); mf != nil {
		return enc.Encode(mf)
	}
	return nil
}

var gzipWriters = sync.Pool{New: func() any { return gzip.NewWriter(nil) }}

// acceptsGzip reports whether the scraper takes a gzip-encoded answer, as
// Prometheus does.
func acceptsGzip(h http.Header) bool {
	for _, part := range strings.Split(h.Get("Accept-Encoding"), ",") {
		coding, q, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(coding), "gzip") && strings.TrimSpace(q) != "q=0" {
			return true
		}
	}
	return false
}
