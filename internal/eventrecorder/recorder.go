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

// Package eventrecorder sends the operator's Events (events.k8s.io/v1)
// without keeping them. client-go's broadcaster keeps a copy of every Event
// it sent for six minutes, to fold a repeat into a series, and sends each
// from a goroutine of its own: memory and thousands of goroutines while a
// fleet converges (docs/benchmarks.md). This recorder
// folds repeats the same way, remembering only a short key of the last
// Events, and sends through a few workers.
package eventrecorder

import (
	"context"
	"fmt"
	"hash/fnv"
	"os"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	eventsv1client "k8s.io/client-go/kubernetes/typed/events/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/reference"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/manager"
)

// Sink writes Events; SinkFor makes one of a typed client.
type Sink interface {
	Create(ctx context.Context, e *eventsv1.Event) error
	Patch(ctx context.Context, namespace, name string, patch []byte) error
}

const (
	// seriesWindow is how long a repeat still folds into the Event it
	// repeats, as with client-go's broadcaster.
	seriesWindow = 6 * time.Minute
	// maxRecent bounds the Events remembered for folding; an older one's
	// repeat is a new Event.
	maxRecent = 4096
	// workers send Events concurrently; one Event's repeats go through the
	// same worker, after it.
	workers = 8
	// queueLen per worker: Events waiting beyond it are dropped and logged,
	// as client-go's broadcaster drops them when its queue is full.
	queueLen = 1024
	// attempts per Event before it is dropped and logged.
	attempts = 3
)

// key is what makes two Events the same story, as for client-go's
// broadcaster: the object (at its resourceVersion), the reason, action and
// type; not the note.
type key struct {
	regarding, related             corev1.ObjectReference
	eventType, reason, action, who string
}

// seen is what is remembered of a sent Event.
type seen struct {
	namespace, name string
	count           int32
	at              time.Time
}

// job is one write: an Event to create, or a repeat to add to a series.
type job struct {
	event *eventsv1.Event
	// series, when set, is the repeat count of the Event named by event.
	series int32
	at     time.Time
}

// Recorder implements client-go's events.EventRecorder.
type Recorder struct {
	sink       Sink
	scheme     *runtime.Scheme
	controller string
	instance   string
	now        func() time.Time

	mu     sync.Mutex
	recent map[key]*seen
	order  []key // ring of recent's keys, oldest first from next
	next   int
	// stamp is the last name stamp given, kept rising so that two Events
	// of one object in the same nanosecond do not share a name.
	stamp int64

	queues  []chan job
	dropped atomic.Int64
}

// New returns a Recorder that names controller as the Events' reporter and
// instance (a pod name) as the reporting instance. Start must run for
// anything to be sent.
func New(sink Sink, scheme *runtime.Scheme, controller, instance string) *Recorder {
	r := &Recorder{
		sink: sink, scheme: scheme, controller: controller, instance: instance, now: time.Now,
		recent: map[key]*seen{},
		queues: make([]chan job, workers),
	}
	for i := range r.queues {
		r.queues[i] = make(chan job, queueLen)
	}
	return r
}

// Start sends queued Events until ctx ends; it implements
// manager.Runnable, so the manager runs it on every replica.
func (r *Recorder) Start(ctx context.Context) error {
	var wg sync.WaitGroup
	for _, q := range r.queues {
		wg.Go(func() {
			for {
				select {
				case <-ctx.Done():
					return
				case j := <-q:
					r.send(ctx, j)
				}
			}
		})
	}
	wg.Wait()
	return nil
}

// NeedLeaderElection is false: a standby replica may have Events to tell
// too (none today), and sending nothing costs nothing.
func (r *Recorder) NeedLeaderElection() bool { return false }

// Dropped counts the Events given up on: a full queue or failed attempts.
func (r *Recorder) Dropped() int64 { return r.dropped.Load() }

// Eventf queues an Event about regarding; it never blocks.
func (r *Recorder) Eventf(regarding runtime.Object, related runtime.Object, eventtype, reason, action, note string, args ...any) {
	ref, err := reference.GetReference(r.scheme, regarding)
	if err != nil {
		logf.Log.Error(err, "Unable to refer to the object of an Event", "reason", reason)
		return
	}
	var rel *corev1.ObjectReference
	if related != nil {
		if rel, err = reference.GetReference(r.scheme, related); err != nil {
			logf.Log.Error(err, "Unable to refer to the related object of an Event", "reason", reason)
			return
		}
	}
	now := r.now()
	k := key{regarding: *ref, eventType: eventtype, reason: reason, action: action, who: r.controller}
	if rel != nil {
		k.related = *rel
	}
	j := job{at: now}

	r.mu.Lock()
	if s, ok := r.recent[k]; ok && now.Sub(s.at) < seriesWindow {
		s.count++
		s.at = now
		j.series = s.count
		j.event = &eventsv1.Event{ObjectMeta: metav1.ObjectMeta{Namespace: s.namespace, Name: s.name}}
	} else {
		namespace := ref.Namespace
		if namespace == "" {
			namespace = metav1.NamespaceDefault
		}
		r.stamp = max(r.stamp+1, now.UnixNano())
		j.event = &eventsv1.Event{
			ObjectMeta: metav1.ObjectMeta{
				// client-go's naming: the object's name and a nanosecond.
				Name:      fmt.Sprintf("%v.%x", ref.Name, r.stamp),
				Namespace: namespace,
			},
			EventTime:           metav1.NewMicroTime(now),
			ReportingController: r.controller,
			ReportingInstance:   r.instance,
			Action:              action,
			Reason:              reason,
			Regarding:           *ref,
			Related:             rel,
			Note:                truncate(fmt.Sprintf(note, args...)),
			Type:                eventtype,
		}
		r.remember(k, &seen{namespace: namespace, name: j.event.Name, count: 1, at: now})
	}
	r.mu.Unlock()

	select {
	case r.queues[shard(k)] <- j:
	default:
		r.dropped.Add(1)
		logf.Log.Info("Dropped an Event: the queue is full", "reason", reason, "object", ref.Name, "namespace", ref.Namespace)
	}
}

// remember keeps k, forgetting the oldest key once maxRecent are kept;
// r.mu is held.
func (r *Recorder) remember(k key, s *seen) {
	if len(r.order) < maxRecent {
		r.order = append(r.order, k)
	} else {
		delete(r.recent, r.order[r.next])
		r.order[r.next] = k
		r.next = (r.next + 1) % maxRecent
	}
	r.recent[k] = s
}

// send writes one job, trying again after transient failures.
func (r *Recorder) send(ctx context.Context, j job) {
	var err error
	for try := 0; try < attempts; try++ {
		if try > 0 {
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Duration(try) * time.Second):
			}
		}
		if j.series > 0 {
			patch := fmt.Appendf(nil, `{"series":{"count":%d,"lastObservedTime":%q}}`, j.series,
				j.at.UTC().Format(metav1.RFC3339Micro))
			err = r.sink.Patch(ctx, j.event.Namespace, j.event.Name, patch)
		} else {
			err = r.sink.Create(ctx, j.event)
		}
		switch {
		case err == nil, apierrors.IsAlreadyExists(err):
			return
		case apierrors.IsNotFound(err) && j.series > 0:
			// The Event it repeats expired or was deleted; the repeat is
			// not worth a new Event of its own.
			return
		case apierrors.IsInvalid(err), apierrors.IsForbidden(err), apierrors.IsBadRequest(err):
			// The same request would be refused again.
			try = attempts
		}
	}
	r.dropped.Add(1)
	logf.FromContext(ctx).Error(err, "Unable to write an Event", "namespace", j.event.Namespace, "name", j.event.Name)
}

// maxNote is the API server's limit on an Event's note.
const maxNote = 1024

func truncate(s string) string {
	if len(s) <= maxNote {
		return s
	}
	return s[:maxNote-3] + "..."
}

func shard(k key) int {
	h := fnv.New32a()
	_, _ = h.Write([]byte(k.regarding.UID))
	_, _ = h.Write([]byte(k.regarding.Namespace + "/" + k.regarding.Name))
	return int(h.Sum32() % workers)
}

// SinkFor writes Events through a typed events.k8s.io/v1 client.
func SinkFor(c eventsv1client.EventsGetter) Sink { return clientSink{c} }

type clientSink struct{ c eventsv1client.EventsGetter }

func (s clientSink) Create(ctx context.Context, e *eventsv1.Event) error {
	_, err := s.c.Events(e.Namespace).Create(ctx, e, metav1.CreateOptions{})
	return err
}

func (s clientSink) Patch(ctx context.Context, namespace, name string, patch []byte) error {
	_, err := s.c.Events(namespace).Patch(ctx, name, types.MergePatchType, patch, metav1.PatchOptions{})
	return err
}

// ForManager returns a Recorder writing through its own client of mgr's
// configuration (so its own client-side rate limit, as client-go's
// broadcaster has), run by mgr.
func ForManager(mgr manager.Manager, controller string) (*Recorder, error) {
	cfg := rest.CopyConfig(mgr.GetConfig())
	// Protobuf, as controller-runtime's clients speak for built-in types:
	// cheaper for the API server to decode and encode than JSON.
	if cfg.ContentType == "" {
		cfg.ContentType = runtime.ContentTypeProtobuf
		cfg.AcceptContentTypes = runtime.ContentTypeProtobuf + "," + runtime.ContentTypeJSON
	}
	c, err := eventsv1client.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("events client: %w", err)
	}
	host, _ := os.Hostname()
	r := New(SinkFor(c), mgr.GetScheme(), controller, controller+"-"+host)
	if err := mgr.Add(r); err != nil {
		return nil, err
	}
	return r, nil
}
