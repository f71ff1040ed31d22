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

package prom

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/common/model"
)

// Fleet runs fleet queries: one Prometheus query whose result holds a series
// per product, shared by every product that asks the same query. Asked
// product by product, a fleet of 5,000 on a 1-minute interval sends 83
// queries a second for each objective or drift check; as a fleet query, one
// query serves them all for as long as each accepts the result's age.
type Fleet struct {
	q   Querier
	now func() time.Time

	mu      sync.Mutex
	results map[string]*fleetEntry
	swept   time.Time
}

// fleetEntry is what Fleet holds for one query: the newest answer and the
// query on its way, if any. A reader takes the newest answer while it is
// young enough for it; one that finds it in the last quarter of its age
// sends the next query in the background, so that in a steady fleet no
// reconcile waits for Prometheus. Were readers to wait for each refresh of
// a large fleet's query, every worker would soon be waiting, and the
// products that never asked for it would wait in the queue behind them.
type fleetEntry struct {
	cur  *fleetResult  // the newest answer; nil before the first
	next *fleetResult  // the query on its way; nil when none is
	keep time.Duration // the longest age any reader accepts
}

// fleetResult is one query's answer, indexed by the values of the labels
// its readers select on. Neither the series nor their labels are kept: at
// 5,000 products a vector is a few megabytes, its index a few hundred
// kilobytes.
type fleetResult struct {
	done chan struct{} // closed once the fields below are set
	at   time.Time     // when the query was sent

	err error
	// abandoned marks a fetch cut short by its caller's context: the
	// error says nothing about the query, so nobody else takes it.
	abandoned bool
	// index maps the joined values of the selected labels to the
	// position of the one series holding them in values, or to -n where n
	// series hold them.
	index  map[string]int
	values []float64
}

// sweepEvery bounds how often Fleet drops results no reader would take.
const sweepEvery = time.Minute

// NewFleet returns a Fleet that sends its queries through q; now is its
// clock.
func NewFleet(q Querier, now func() time.Time) *Fleet {
	return &Fleet{q: q, now: now, results: map[string]*fleetEntry{}}
}

// Select returns the value of the one series of query's result whose labels
// hold match's values. A result sent less than maxAge ago is reused, a
// result on its way is waited for; otherwise the query is sent again. No
// matching series is ErrNoData, as an empty result is for a query of one
// product.
func (f *Fleet) Select(ctx context.Context, query string, match map[string]string, maxAge time.Duration) (float64, error) {
	names := make([]string, 0, len(match))
	for k := range match {
		names = append(names, k)
	}
	slices.Sort(names)
	// Readers selecting on other labels get a result indexed for them.
	key := query + "\x00" + strings.Join(names, "\x00")
	for {
		r, err := f.result(ctx, key, query, names, maxAge)
		if err != nil {
			return 0, err
		}
		if r.abandoned {
			// Sent by a reconcile that gave up; this one asks again.
			continue
		}
		if r.err != nil {
			return 0, r.err
		}
		return r.pick(names, match)
	}
}

func (f *Fleet) result(ctx context.Context, key, query string, names []string, maxAge time.Duration) (*fleetResult, error) {
	now := f.now()
	f.mu.Lock()
	e := f.results[key]
	if e == nil {
		e = &fleetEntry{}
		f.results[key] = e
	}
	e.keep = max(e.keep, maxAge)
	if c := e.cur; c != nil && now.Sub(c.at) < maxAge {
		if e.next == nil && now.Sub(c.at) >= maxAge-maxAge/4 {
			n := &fleetResult{done: make(chan struct{}), at: now}
			e.next = n
			// The query serves every reader after this one; the reconcile
			// that happened to send it must not cancel it.
			go f.fetch(context.WithoutCancel(ctx), e, n, query, names)
		}
		f.mu.Unlock()
		return c, nil
	}
	if n := e.next; n != nil {
		f.mu.Unlock()
		select {
		case <-n.done:
			return n, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	n := &fleetResult{done: make(chan struct{}), at: now}
	e.next = n
	f.sweep(now)
	f.mu.Unlock()

	if f.fetch(ctx, e, n, query, names); n.abandoned {
		return nil, n.err
	}
	return n, nil
}

// fetch sends the query of n, and makes its answer e's newest.
func (f *Fleet) fetch(ctx context.Context, e *fleetEntry, n *fleetResult, query string, names []string) {
	vec, err := f.q.QueryVector(ctx, query)
	if n.err = err; err != nil {
		n.abandoned = ctx.Err() != nil
	} else {
		n.index, n.values = indexSeries(vec, names)
	}
	f.mu.Lock()
	if e.next == n {
		e.next = nil
	}
	if !n.abandoned {
		e.cur = n
	}
	f.mu.Unlock()
	close(n.done)
}

// sweep drops the results that are too old for every reader they have had;
// f.mu is held.
func (f *Fleet) sweep(now time.Time) {
	if now.Sub(f.swept) < sweepEvery {
		return
	}
	f.swept = now
	for k, e := range f.results {
		if e.next == nil && (e.cur == nil || now.Sub(e.cur.at) >= e.keep) {
			delete(f.results, k)
		}
	}
}

// indexSeries keeps, of each series, its value and the values of the
// labels named. A series lacking one of those labels can match no reader:
// every matchLabels value is non-empty.
func indexSeries(vec model.Vector, names []string) (map[string]int, []float64) {
	index := make(map[string]int, len(vec))
	values := make([]float64, len(vec))
	var b strings.Builder
	for i, s := range vec {
		b.Reset()
		for j, n := range names {
			if j > 0 {
				b.WriteByte(0)
			}
			b.WriteString(string(s.Metric[model.LabelName(n)]))
		}
		k := b.String()
		switch pos, seen := index[k]; {
		case !seen:
			index[k] = i
		case pos >= 0:
			index[k] = -2
		default:
			index[k] = pos - 1
		}
		values[i] = float64(s.Value)
	}
	return index, values
}

func (r *fleetResult) pick(names []string, match map[string]string) (float64, error) {
	vals := make([]string, len(names))
	for i, n := range names {
		vals[i] = match[n]
	}
	pos, ok := r.index[strings.Join(vals, "\x00")]
	switch {
	case !ok:
		return 0, ErrNoData
	case pos < 0:
		return 0, fmt.Errorf("the fleet query returned %d series with labels %s; it must return one per product (aggregate by the matchLabels' labels)",
			-pos, renderMatch(names, match))
	}
	return finite(r.values[pos])
}

// renderMatch writes match as a PromQL label set, in label order.
func renderMatch(names []string, match map[string]string) string {
	parts := make([]string, 0, len(names))
	for _, n := range names {
		parts = append(parts, n+"="+Quote(match[n]))
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

// ExpandLabels returns match with every value that is exactly $name, for a
// name in vars, replaced by that variable's value; other values are kept as
// written.
func ExpandLabels(match map[string]string, vars map[string]string) map[string]string {
	out := make(map[string]string, len(match))
	for k, v := range match {
		if name, ok := strings.CutPrefix(v, "$"); ok {
			if val, ok := vars[name]; ok {
				v = val
			}
		}
		out[k] = v
	}
	return out
}
