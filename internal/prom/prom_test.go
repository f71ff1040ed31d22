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

package prom_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aipm-io/aipm-operator/internal/prom"
	"github.com/aipm-io/aipm-operator/internal/prom/promtest"
)

func TestExpand(t *testing.T) {
	vars := map[string]string{"product": "churn", "namespace": "ml", "version": `v1"} or vector(1) #`}
	tests := []struct{ in, want string }{
		{`up`, `up`},
		{`sum(x{product=$product, namespace=$namespace})`, `sum(x{product="churn", namespace="ml"})`},
		{`x{v=$version}`, `x{v="v1\"} or vector(1) #"}`},
		{`x{a=~"$1"} $unknown $`, `x{a=~"$1"} $unknown $`},
		{`$product$product`, `"churn""churn"`},
		{`$productx`, `$productx`},
	}
	for _, tt := range tests {
		if got := prom.Expand(tt.in, vars); got != tt.want {
			t.Errorf("Expand(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestClientQuery(t *testing.T) {
	s := promtest.NewServer()
	defer s.Close()
	s.Set("good", 0.25)
	s.Set("nan", math.NaN())
	q, err := prom.NewClient(s.URL, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	if v, err := q.Query(ctx, "good"); err != nil || v != 0.25 {
		t.Fatalf("good = %v, %v; want 0.25", v, err)
	}
	if _, err := q.Query(ctx, "absent"); !errors.Is(err, prom.ErrNoData) {
		t.Fatalf("absent: err = %v, want ErrNoData", err)
	}
	if _, err := q.Query(ctx, "nan"); !errors.Is(err, prom.ErrNoData) {
		t.Fatalf("nan: err = %v, want ErrNoData", err)
	}
	s.SetDown(true)
	if _, err := q.Query(ctx, "good"); !errors.Is(err, prom.ErrUnavailable) {
		t.Fatalf("down (503): err = %v, want ErrUnavailable", err)
	}
}

func TestClientRejectsManySeries(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = fmt.Fprint(w, `{"status":"success","data":{"resultType":"vector","result":[`+
			`{"metric":{"a":"1"},"value":[1,"1"]},{"metric":{"a":"2"},"value":[1,"2"]}]}}`)
	}))
	defer srv.Close()
	q, _ := prom.NewClient(srv.URL, time.Second)
	_, err := q.Query(context.Background(), "x")
	if err == nil || !strings.Contains(err.Error(), "returned 2 series") {
		t.Fatalf("err = %v, want one naming the 2 series", err)
	}
}

func TestClientBadQueryIsNotUnavailable(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = fmt.Fprint(w, `{"status":"error","errorType":"bad_data","error":"parse error: unclosed left parenthesis"}`)
	}))
	defer srv.Close()
	q, _ := prom.NewClient(srv.URL, time.Second)
	_, err := q.Query(context.Background(), "sum(")
	if err == nil || errors.Is(err, prom.ErrUnavailable) || !strings.Contains(err.Error(), "unclosed left parenthesis") {
		t.Fatalf("err = %v, want the parse error, not ErrUnavailable", err)
	}
}

func TestUnconfigured(t *testing.T) {
	q, err := prom.NewClient("", time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := q.Query(context.Background(), "up"); !errors.Is(err, prom.ErrNotConfigured) {
		t.Fatalf("err = %v, want ErrNotConfigured", err)
	}
}

func TestClientUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	addr := srv.URL
	srv.Close()
	q, _ := prom.NewClient(addr, time.Second)
	if _, err := q.Query(context.Background(), "up"); !errors.Is(err, prom.ErrUnavailable) {
		t.Fatalf("err = %v, want ErrUnavailable", err)
	}
}

// Every reconcile worker may query at once; the client keeps their
// connections between bursts instead of opening new ones each time.
func TestClientKeepsConnectionsForConcurrentQueries(t *testing.T) {
	const workers, rounds = 16, 10
	var mu sync.Mutex
	opened := 0
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(5 * time.Millisecond) // long enough that the workers' queries overlap
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[0,"1"]}]}}`)
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			mu.Lock()
			opened++
			mu.Unlock()
		}
	}
	srv.Start()
	defer srv.Close()
	q, err := prom.NewClient(srv.URL, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	for range rounds {
		var wg sync.WaitGroup
		for range workers {
			wg.Go(func() {
				if _, err := q.Query(context.Background(), "up"); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
	}
	mu.Lock()
	defer mu.Unlock()
	// net/http's default of 2 idle connections per host opened about 14
	// new ones per round here (140 in all).
	if opened > 2*workers {
		t.Errorf("%d connections opened for %d rounds of %d concurrent queries; want at most %d", opened, rounds, workers, 2*workers)
	}
	t.Logf("%d connections for %d queries", opened, rounds*workers)
}
