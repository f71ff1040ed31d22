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
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/common/model"
)

// vectorQuerier answers QueryVector from a fixed vector (or error) and
// counts the queries; gate, when set, holds every query until closed.
type vectorQuerier struct {
	vec   model.Vector
	err   error
	gate  chan struct{}
	calls atomic.Int32
}

func (q *vectorQuerier) Query(context.Context, string) (float64, error) {
	return 0, errors.New("not a fleet query")
}

func (q *vectorQuerier) QueryVectorAt(ctx context.Context, query string, _ time.Time) (model.Vector, error) {
	return q.QueryVector(ctx, query)
}

func (q *vectorQuerier) QueryVector(ctx context.Context, _ string) (model.Vector, error) {
	q.calls.Add(1)
	if q.gate != nil {
		select {
		case <-q.gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return q.vec, q.err
}

func series(v float64, labels ...string) *model.Sample {
	m := model.Metric{}
	for i := 0; i+1 < len(labels); i += 2 {
		m[model.LabelName(labels[i])] = model.LabelValue(labels[i+1])
	}
	return &model.Sample{Metric: m, Value: model.SampleValue(v)}
}

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) step(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func TestFleetSelect(t *testing.T) {
	vec := model.Vector{
		series(0.1, "product", "shop", "version", "v2"),
		series(0.3, "product", "search", "version", "v7"),
		series(0.5, "product", "dup", "version", "v1"),
		series(0.6, "product", "dup", "version", "v1"),
		series(math.NaN(), "product", "nan", "version", "v1"),
		series(0.9, "version", "v1"),
	}
	tests := []struct {
		name    string
		match   map[string]string
		want    float64
		wantErr string
		noData  bool
	}{
		{name: "the product's series", match: map[string]string{"product": "shop", "version": "v2"}, want: 0.1},
		{name: "another product, same result", match: map[string]string{"product": "search", "version": "v7"}, want: 0.3},
		{name: "one label is enough when it tells products apart", match: map[string]string{"product": "search"}, want: 0.3},
		{name: "a version not in the result", match: map[string]string{"product": "shop", "version": "v3"}, noData: true},
		{name: "a product not in the result", match: map[string]string{"product": "gone"}, noData: true},
		{name: "NaN is no data", match: map[string]string{"product": "nan"}, noData: true},
		{name: "a series missing a label matches nothing", match: map[string]string{"product": "v1"}, noData: true},
		{name: "two series for one product", match: map[string]string{"product": "dup"},
			wantErr: `the fleet query returned 2 series with labels {product="dup"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := NewFleet(&vectorQuerier{vec: vec}, time.Now)
			got, err := f.Select(context.Background(), "drift", tt.match, time.Minute)
			switch {
			case tt.noData:
				if !errors.Is(err, ErrNoData) {
					t.Fatalf("got %v, %v; want ErrNoData", got, err)
				}
			case tt.wantErr != "":
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got %v, %v; want an error with %q", got, err, tt.wantErr)
				}
			case err != nil || got != tt.want:
				t.Fatalf("got %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}

func TestFleetSharesOneQueryWithinMaxAge(t *testing.T) {
	var vec model.Vector
	for i := range 1000 {
		vec = append(vec, series(float64(i), "product", fmt.Sprintf("p-%d", i)))
	}
	q := &vectorQuerier{vec: vec}
	clk := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	f := NewFleet(q, clk.now)
	ctx := context.Background()

	read := func(i int, maxAge time.Duration) {
		t.Helper()
		got, err := f.Select(ctx, "psi", map[string]string{"product": fmt.Sprintf("p-%d", i)}, maxAge)
		if err != nil || got != float64(i) {
			t.Fatalf("product %d read %v, %v", i, got, err)
		}
	}
	for i := range 1000 {
		read(i, 30*time.Second)
	}
	if n := q.calls.Load(); n != 1 {
		t.Fatalf("1,000 products sent %d queries, want 1", n)
	}
	clk.step(20 * time.Second)
	read(7, 30*time.Second)
	if n := q.calls.Load(); n != 1 {
		t.Fatalf("a 20 s old result was sent again (%d queries) to a reader taking 30 s", n)
	}
	read(8, 10*time.Second)
	if n := q.calls.Load(); n != 2 {
		t.Fatalf("a reader taking 10 s was served a 20 s old result (%d queries)", n)
	}
	clk.step(30 * time.Second)
	read(9, 30*time.Second)
	if n := q.calls.Load(); n != 3 {
		t.Fatalf("a 30 s old result served a reader taking 30 s (%d queries)", n)
	}
	// Another query text, or other labels to select on, is another query.
	if _, err := f.Select(ctx, "ks", map[string]string{"product": "p-1"}, time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Select(ctx, "psi", map[string]string{"product": "p-1", "version": "v1"}, time.Minute); !errors.Is(err, ErrNoData) {
		t.Fatalf("selecting on a label no series has: %v, want ErrNoData", err)
	}
	if n := q.calls.Load(); n != 5 {
		t.Fatalf("%d queries, want 5", n)
	}
}

func TestFleetConcurrentReadersWaitForOneQuery(t *testing.T) {
	q := &vectorQuerier{vec: model.Vector{series(1, "product", "a")}, gate: make(chan struct{})}
	f := NewFleet(q, time.Now)
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for range 64 {
		wg.Go(func() {
			if v, err := f.Select(context.Background(), "q", map[string]string{"product": "a"}, time.Minute); err != nil || v != 1 {
				errs <- fmt.Errorf("read %v, %v", v, err)
			}
		})
	}
	// Let the readers pile up behind the first query before it answers.
	for q.calls.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond)
	close(q.gate)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := q.calls.Load(); n != 1 {
		t.Fatalf("64 concurrent readers sent %d queries, want 1", n)
	}
}

// A reader that finds the result in the last quarter of its age gets it at
// once and sends the next query in the background; readers after it keep
// taking the result until the answer comes, so none of them waits for
// Prometheus while the fleet is steady.
func TestFleetRefreshesAheadWithoutMakingReadersWait(t *testing.T) {
	q := &vectorQuerier{vec: model.Vector{series(1, "product", "a")}}
	clk := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	f := NewFleet(q, clk.now)
	read := func() float64 {
		t.Helper()
		done := make(chan float64, 1)
		go func() {
			v, err := f.Select(context.Background(), "q", map[string]string{"product": "a"}, 30*time.Second)
			if err != nil {
				t.Error(err)
			}
			done <- v
		}()
		select {
		case v := <-done:
			return v
		case <-time.After(10 * time.Second):
			t.Fatal("a reader waited for the query on its way")
			return 0
		}
	}
	read()
	// Prometheus now takes until the test says to answer, with a new value.
	q.gate = make(chan struct{})
	clk.step(20 * time.Second)
	if v := read(); v != 1 || q.calls.Load() != 1 {
		t.Fatalf("a 20 s old result, 30 s allowed: read %v with %d queries, want 1 with 1", v, q.calls.Load())
	}
	clk.step(3 * time.Second)
	if v := read(); v != 1 {
		t.Fatalf("read %v while the next query was on its way, want the current 1", v)
	}
	for start := time.Now(); q.calls.Load() != 2; time.Sleep(time.Millisecond) {
		if time.Since(start) > 10*time.Second {
			t.Fatal("no query sent in the last quarter of the result's age")
		}
	}
	clk.step(2 * time.Second)
	if v := read(); v != 1 || q.calls.Load() != 2 {
		t.Fatalf("a second reader in the last quarter: read %v with %d queries, want 1 with 2 (one on its way)", v, q.calls.Load())
	}
	q.vec = model.Vector{series(2, "product", "a")}
	close(q.gate)
	// The answer replaces the result once it comes; past the old result's
	// age, a reader takes the new one without another query.
	clk.step(10 * time.Second)
	deadline := time.Now().Add(10 * time.Second)
	for read() != 2 {
		if time.Now().After(deadline) {
			t.Fatal("the answer to the background query never replaced the result")
		}
		time.Sleep(time.Millisecond)
	}
	if n := q.calls.Load(); n != 2 {
		t.Fatalf("%d queries, want 2", n)
	}
}

func TestFleetSharesErrorsButNotAbandonedQueries(t *testing.T) {
	down := &vectorQuerier{err: fmt.Errorf("%w: connection refused", ErrUnavailable)}
	f := NewFleet(down, time.Now)
	for range 3 {
		if _, err := f.Select(context.Background(), "q", map[string]string{"product": "a"}, time.Minute); !errors.Is(err, ErrUnavailable) {
			t.Fatalf("got %v, want ErrUnavailable", err)
		}
	}
	if n := down.calls.Load(); n != 1 {
		t.Fatalf("an outage was asked about %d times within the result's age, want 1", n)
	}

	// A reconcile that gives up mid-query leaves nothing behind: the next
	// reader asks again and gets the answer.
	q := &vectorQuerier{vec: model.Vector{series(2, "product", "a")}, gate: make(chan struct{})}
	f = NewFleet(q, time.Now)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := f.Select(ctx, "q", map[string]string{"product": "a"}, time.Minute); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled reader got %v", err)
	}
	close(q.gate)
	if v, err := f.Select(context.Background(), "q", map[string]string{"product": "a"}, time.Minute); err != nil || v != 2 {
		t.Fatalf("reader after an abandoned query got %v, %v", v, err)
	}
	if n := q.calls.Load(); n != 2 {
		t.Fatalf("%d queries, want 2", n)
	}
}

func TestFleetDropsResultsNoReaderTakes(t *testing.T) {
	q := &vectorQuerier{vec: model.Vector{series(1, "product", "a")}}
	clk := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	f := NewFleet(q, clk.now)
	for i := range 100 {
		if _, err := f.Select(context.Background(), fmt.Sprintf("q%d", i), map[string]string{"product": "a"}, 30*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	clk.step(2 * time.Minute)
	if _, err := f.Select(context.Background(), "fresh", map[string]string{"product": "a"}, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.results) != 1 {
		t.Fatalf("%d results kept, want only the fresh one", len(f.results))
	}
}

func TestExpandLabels(t *testing.T) {
	vars := map[string]string{"product": "shop", "version": "v2"}
	got := ExpandLabels(map[string]string{"product": "$product", "version": "$version", "env": "prod", "ns": "$namespace", "cost": "$5"}, vars)
	want := map[string]string{"product": "shop", "version": "v2", "env": "prod", "ns": "$namespace", "cost": "$5"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

func BenchmarkFleetSelect5000(b *testing.B) {
	var vec model.Vector
	for i := range 5000 {
		vec = append(vec, series(float64(i), "product", fmt.Sprintf("p-%04d", i), "version", "v3"))
	}
	f := NewFleet(&vectorQuerier{vec: vec}, time.Now)
	match := map[string]string{"product": "p-2500", "version": "v3"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.Select(context.Background(), "psi", match, time.Hour); err != nil {
			b.Fatal(err)
		}
	}
}
