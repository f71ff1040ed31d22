//go:build e2e

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

package e2e

import (
	"bytes"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aipm-io/aipm-operator/test/ml"
)

// load sends prediction requests to a model server's address at a steady
// rate and records which version answered each, and how. Every request is
// a new connection: kube-proxy picks an endpoint per connection, so a
// client that kept its connection alive would measure its one pod, not the
// Service's split.
type load struct {
	url    string
	header http.Header
	client *http.Client
	shift  atomic.Uint64 // float64 bits: the drift of the rows sent
	stop   chan struct{}
	done   sync.WaitGroup

	mu   sync.Mutex
	hits []hit
}

type hit struct {
	at      time.Time
	version string
	code    int // 0 when no answer came
}

func startLoad(url string, perSecond int) *load { return startLoadWith(url, nil, perSecond) }

// startLoadWith sends header with every request.
func startLoadWith(url string, header http.Header, perSecond int) *load {
	l := &load{url: url, header: header, stop: make(chan struct{}),
		client: &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}}
	l.done.Add(1)
	go func() {
		defer l.done.Done()
		tick := time.NewTicker(time.Second / time.Duration(perSecond))
		defer tick.Stop()
		var inflight sync.WaitGroup
		defer inflight.Wait()
		seed := uint64(100)
		for {
			select {
			case <-l.stop:
				return
			case <-tick.C:
				seed++
				row := ml.Generate(seed, 1, math.Float64frombits(l.shift.Load()))[0]
				inflight.Add(1)
				go func() { defer inflight.Done(); l.send(row.X) }()
			}
		}
	}()
	return l
}

func (l *load) send(x []float64) {
	body, _ := json.Marshal(map[string]any{"instances": [][]float64{x}})
	h := hit{at: time.Now()}
	req, err := http.NewRequest(http.MethodPost, l.url, bytes.NewReader(body))
	if err != nil {
		panic(err) // the suite's own URL
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range l.header {
		req.Header[k] = v
	}
	resp, err := l.client.Do(req)
	if err == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		h.code, h.version = resp.StatusCode, resp.Header.Get("X-Model-Version")
	}
	l.mu.Lock()
	l.hits = append(l.hits, h)
	l.mu.Unlock()
}

// setShift changes the data sent from now on: drift.
func (l *load) setShift(s float64) { l.shift.Store(math.Float64bits(s)) }

func (l *load) Stop() {
	close(l.stop)
	l.done.Wait()
}

// tally counts the requests sent in [from, to): answers by version, and
// requests that got no answer or a 5xx.
type tally struct {
	byVersion map[string]int
	answered  int
	failed    int
}

func (l *load) between(from, to time.Time) tally {
	t := tally{byVersion: map[string]int{}}
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, h := range l.hits {
		if h.at.Before(from) || !h.at.Before(to) {
			continue
		}
		if h.version != "" {
			t.byVersion[h.version]++
			t.answered++
		}
		if h.code == 0 || h.code >= 500 {
			t.failed++
		}
	}
	return t
}

// share is the percentage of answers version gave.
func (t tally) share(version string) float64 {
	if t.answered == 0 {
		return math.NaN()
	}
	return 100 * float64(t.byVersion[version]) / float64(t.answered)
}
