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

package eventrecorder

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	k8stypes "k8s.io/apimachinery/pkg/types"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
)

// fakeSink keeps the Events as the API server would, applying series
// patches; failCreates makes that many creates fail with a 503 first.
type fakeSink struct {
	mu          sync.Mutex
	events      map[string]*eventsv1.Event
	creates     int
	patches     int
	failCreates int
	block       chan struct{}
}

func newSink() *fakeSink { return &fakeSink{events: map[string]*eventsv1.Event{}} }

func (s *fakeSink) Create(_ context.Context, e *eventsv1.Event) error {
	if s.block != nil {
		<-s.block
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.creates++
	if s.failCreates > 0 {
		s.failCreates--
		return apierrors.NewServiceUnavailable("overloaded")
	}
	s.events[e.Namespace+"/"+e.Name] = e.DeepCopy()
	return nil
}

func (s *fakeSink) Patch(_ context.Context, ns, name string, patch []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.patches++
	e, ok := s.events[ns+"/"+name]
	if !ok {
		return apierrors.NewNotFound(schema.GroupResource{Group: "events.k8s.io", Resource: "events"}, name)
	}
	var p struct {
		Series eventsv1.EventSeries `json:"series"`
	}
	if err := json.Unmarshal(patch, &p); err != nil {
		return apierrors.NewBadRequest(err.Error())
	}
	e.Series = &p.Series
	return nil
}

func (s *fakeSink) all() []*eventsv1.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*eventsv1.Event
	for _, e := range s.events {
		out = append(out, e.DeepCopy())
	}
	return out
}

func pod(name string) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ml", UID: k8stypes.UID("uid-" + name), ResourceVersion: "7"}}
}

func start(t *testing.T, r *Recorder) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = r.Start(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func scheme(t *testing.T) *runtime.Scheme {
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestRecorderWritesAnEventAsTheAPIExpects(t *testing.T) {
	sink := newSink()
	r := New(sink, scheme(t), "aipm-operator", "aipm-operator-0")
	start(t, r)
	r.Eventf(pod("churn"), nil, corev1.EventTypeWarning, "RolloutAborted", "Rollout", "Aborted %s: %s", "v2", "error rate 0.2")
	eventually(t, "the Event", func() bool { return len(sink.all()) == 1 })
	e := sink.all()[0]
	if !strings.HasPrefix(e.Name, "churn.") || e.Namespace != "ml" {
		t.Errorf("named %s/%s", e.Namespace, e.Name)
	}
	if e.Regarding.Kind != "Pod" || e.Regarding.Name != "churn" || e.Regarding.UID != "uid-churn" {
		t.Errorf("regarding %+v", e.Regarding)
	}
	if e.Type != "Warning" || e.Reason != "RolloutAborted" || e.Action != "Rollout" || e.Note != "Aborted v2: error rate 0.2" {
		t.Errorf("got %s %s %s %q", e.Type, e.Reason, e.Action, e.Note)
	}
	if e.ReportingController != "aipm-operator" || e.ReportingInstance != "aipm-operator-0" || e.EventTime.IsZero() {
		t.Errorf("reporting %s %s at %v", e.ReportingController, e.ReportingInstance, e.EventTime)
	}
}

func TestRecorderFoldsRepeatsIntoASeries(t *testing.T) {
	sink := newSink()
	r := New(sink, scheme(t), "aipm-operator", "i")
	now := time.Unix(1_700_000_000, 0)
	r.now = func() time.Time { return now }
	start(t, r)

	p := pod("shop")
	for range 3 {
		r.Eventf(p, nil, corev1.EventTypeNormal, "ProductionSet", "Rollout", "Serving v1")
	}
	eventually(t, "a series of 3", func() bool {
		es := sink.all()
		return len(es) == 1 && es[0].Series != nil && es[0].Series.Count == 3
	})
	// Another reason, or the same past the series window, is a new Event.
	r.Eventf(p, nil, corev1.EventTypeNormal, "PhaseChanged", "MovePhase", "Entered phase Delivery")
	now = now.Add(seriesWindow)
	r.Eventf(p, nil, corev1.EventTypeNormal, "ProductionSet", "Rollout", "Serving v1")
	eventually(t, "three Events", func() bool { return len(sink.all()) == 3 })
	sink.mu.Lock()
	defer sink.mu.Unlock()
	if sink.creates != 3 || sink.patches != 2 {
		t.Fatalf("%d creates and %d patches, want 3 and 2", sink.creates, sink.patches)
	}
}

func TestRecorderRemembersABoundedNumberOfEvents(t *testing.T) {
	r := New(newSink(), scheme(t), "aipm-operator", "i")
	start(t, r)
	for i := range 3 * maxRecent {
		r.Eventf(pod(fmt.Sprintf("p-%d", i)), nil, corev1.EventTypeNormal, "PhaseChanged", "MovePhase", "moved")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.recent) != maxRecent || len(r.order) != maxRecent {
		t.Fatalf("remembers %d Events (%d keys), want %d", len(r.recent), len(r.order), maxRecent)
	}
	// The newest are the ones remembered.
	last := pod(fmt.Sprintf("p-%d", 3*maxRecent-1))
	if _, ok := r.recent[key{regarding: corev1.ObjectReference{Kind: "Pod", APIVersion: "v1", Namespace: "ml", Name: last.Name,
		UID: last.UID, ResourceVersion: "7"}, eventType: "Normal", reason: "PhaseChanged", action: "MovePhase", who: "aipm-operator"}]; !ok {
		t.Fatal("the newest Event was forgotten")
	}
}

func TestRecorderRetriesThenGivesUpWithoutBlocking(t *testing.T) {
	sink := newSink()
	sink.failCreates = 1
	r := New(sink, scheme(t), "aipm-operator", "i")
	start(t, r)
	r.Eventf(pod("a"), nil, corev1.EventTypeNormal, "PhaseChanged", "MovePhase", "moved")
	eventually(t, "the Event after one failure", func() bool { return len(sink.all()) == 1 })

	sink.mu.Lock()
	sink.failCreates = attempts
	sink.mu.Unlock()
	r.Eventf(pod("b"), nil, corev1.EventTypeNormal, "PhaseChanged", "MovePhase", "moved")
	eventually(t, "the Event given up on", func() bool { return r.Dropped() == 1 })
	if len(sink.all()) != 1 {
		t.Fatalf("%d Events, want 1", len(sink.all()))
	}

	// A stuck API server fills the queues; Eventf still returns at once.
	stuck := newSink()
	stuck.block = make(chan struct{})
	defer close(stuck.block)
	r = New(stuck, scheme(t), "aipm-operator", "i")
	start(t, r)
	begin := time.Now()
	for i := range workers*queueLen + 2*workers + 100 {
		r.Eventf(pod(fmt.Sprintf("p-%d", i)), nil, corev1.EventTypeNormal, "PhaseChanged", "MovePhase", "moved")
	}
	if d := time.Since(begin); d > 5*time.Second {
		t.Fatalf("Eventf blocked for %v", d)
	}
	if r.Dropped() < 100 {
		t.Fatalf("dropped %d Events with the queues full, want at least 100", r.Dropped())
	}
}
