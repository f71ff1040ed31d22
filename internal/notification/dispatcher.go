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

package notification

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
	"sigs.k8s.io/yaml"

	lifecyclev1alpha1 "github.com/aipm-io/aipm-operator/api/v1alpha1"
)

// SecretKey is the key of the notification Secret that holds the Config.
const SecretKey = "notifications.yaml"

// Config is what the operator's administrator declares in the notification
// Secret: the sinks, with their URLs and tokens, and each namespace's
// default subscription.
type Config struct {
	Sinks      []Sink                                        `json:"sinks,omitempty"`
	Namespaces map[string]lifecyclev1alpha1.NotificationSpec `json:"namespaces,omitempty"`
}

// ParseConfig reads and checks the Secret's document.
func ParseConfig(raw []byte) (Config, error) {
	var c Config
	if err := yaml.UnmarshalStrict(raw, &c); err != nil {
		return Config{}, err
	}
	seen := map[string]bool{}
	for i, s := range c.Sinks {
		switch {
		case s.Name == "":
			return Config{}, fmt.Errorf("sinks[%d] has no name", i)
		case seen[s.Name]:
			return Config{}, fmt.Errorf("sink %s is declared twice", s.Name)
		case s.Type != Webhook && s.Type != Slack && s.Type != CloudEvents:
			return Config{}, fmt.Errorf("sink %s: type %q is not Webhook, Slack or CloudEvents", s.Name, s.Type)
		}
		if u, err := url.Parse(s.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return Config{}, fmt.Errorf("sink %s: url %q is not an http(s) URL", s.Name, s.URL)
		}
		seen[s.Name] = true
	}
	return c, nil
}

// Results of a notice, as aipm_notifications_total counts them.
const (
	ResultSent         = "sent"
	ResultRetried      = "retried"
	ResultFailed       = "failed"
	ResultDropped      = "dropped"
	ResultDeduplicated = "deduplicated"
)

var notifications = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "aipm", Name: "notifications_total",
	Help: "Notifications by sink and result: sent, retried (an attempt that failed and was tried again), failed (given up " +
		"after every attempt), dropped (the sink's queue was full, or the sink is not declared) or deduplicated."},
	[]string{"sink", "result"})

var sinksDeclared = prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "aipm", Name: "notification_sinks",
	Help: "Sinks the notification Secret declares, as the operator last read it."})

func init() { ctrlmetrics.Registry.MustRegister(notifications, sinksDeclared) }

// Dispatcher sends notices to sinks, each sink from its own bounded queue
// by its own worker, so that a sink that hangs delays only itself. Notify
// never blocks.
type Dispatcher struct {
	// Reader reads products (their subscriptions), from the cache.
	Reader client.Reader
	// SecretReader reads the notification Secret, past the cache: the
	// operator may read that one Secret, and list none.
	SecretReader client.Reader
	// Secret is the notification Secret, in the operator's namespace.
	Secret types.NamespacedName
	// Client sends the requests; its timeout bounds each attempt.
	Client *http.Client
	// QueueSize bounds each sink's queue; a full queue drops.
	QueueSize int
	// Attempts is how many times a notice is tried before it fails.
	Attempts int
	// Backoff is the wait after the first failed attempt; it doubles up
	// to MaxBackoff.
	Backoff, MaxBackoff time.Duration
	// DedupeWindow is how long the same notice is not sent again.
	DedupeWindow time.Duration
	// Refresh is how often the Secret is read again.
	Refresh time.Duration

	mu      sync.Mutex
	config  Config
	queues  map[string]chan Notice
	recent  map[string]time.Time
	order   []string
	ctx     context.Context
	started bool
}

// maxRecent bounds the deduplication memory.
const maxRecent = 4096

func (d *Dispatcher) defaults() {
	if d.Client == nil {
		d.Client = &http.Client{Timeout: 5 * time.Second}
	}
	if d.QueueSize <= 0 {
		d.QueueSize = 256
	}
	if d.Attempts <= 0 {
		d.Attempts = 5
	}
	if d.Backoff <= 0 {
		d.Backoff = time.Second
	}
	if d.MaxBackoff <= 0 {
		d.MaxBackoff = 30 * time.Second
	}
	if d.DedupeWindow <= 0 {
		d.DedupeWindow = 10 * time.Minute
	}
	if d.Refresh <= 0 {
		d.Refresh = 30 * time.Second
	}
}

// Start reads the Secret, then again every Refresh, until ctx ends; the
// sinks' workers run meanwhile. It is a manager Runnable.
func (d *Dispatcher) Start(ctx context.Context) error {
	d.defaults()
	d.mu.Lock()
	d.ctx, d.started = ctx, true
	d.queues, d.recent = map[string]chan Notice{}, map[string]time.Time{}
	d.mu.Unlock()
	t := time.NewTicker(d.Refresh)
	defer t.Stop()
	for {
		d.load(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// NeedLeaderElection: every replica sends the notices of the Events it
// records, and only the leader records any.
func (d *Dispatcher) NeedLeaderElection() bool { return false }

func (d *Dispatcher) load(ctx context.Context) {
	log := logf.FromContext(ctx).WithName("notifications")
	var s corev1.Secret
	err := d.SecretReader.Get(ctx, d.Secret, &s)
	var c Config
	switch {
	case apierrors.IsNotFound(err):
	case err != nil:
		log.Error(err, "reading the notification Secret; keeping the sinks read before", "secret", d.Secret)
		return
	default:
		if c, err = ParseConfig(s.Data[SecretKey]); err != nil {
			log.Error(err, "the notification Secret's "+SecretKey+" is not usable; keeping the sinks read before", "secret", d.Secret)
			return
		}
	}
	d.mu.Lock()
	d.config = c
	d.mu.Unlock()
	sinksDeclared.Set(float64(len(c.Sinks)))
}

// Notify queues n for the sinks the product subscribes to, never waiting.
func (d *Dispatcher) Notify(ctx context.Context, n Notice) {
	d.mu.Lock()
	started := d.started
	cfg := d.config
	d.mu.Unlock()
	// Without sinks nothing can be sent: most operators declare none, and
	// a fleet's Events then cost no read of their products.
	if !started || len(cfg.Sinks) == 0 {
		return
	}
	sub := d.subscription(ctx, n, cfg)
	if sub == nil || (len(sub.Moments) > 0 && !slices.Contains(sub.Moments, n.Moment)) {
		return
	}
	for _, name := range sub.Sinks {
		if !slices.ContainsFunc(cfg.Sinks, func(s Sink) bool { return s.Name == name }) {
			notifications.WithLabelValues(name, ResultDropped).Inc()
			continue
		}
		select {
		case d.queue(name) <- n:
		default:
			notifications.WithLabelValues(name, ResultDropped).Inc()
		}
	}
}

// subscription is the product's own, or its namespace's default.
func (d *Dispatcher) subscription(ctx context.Context, n Notice, cfg Config) *lifecyclev1alpha1.NotificationSpec {
	var p lifecyclev1alpha1.AIProduct
	if err := d.Reader.Get(ctx, client.ObjectKey{Namespace: n.Namespace, Name: n.Product}, &p, client.UnsafeDisableDeepCopy); err == nil &&
		p.Spec.Notifications != nil {
		return p.Spec.Notifications
	}
	if sub, ok := cfg.Namespaces[n.Namespace]; ok {
		return &sub
	}
	return nil
}

// queue is the sink's queue, its worker started with it.
func (d *Dispatcher) queue(sink string) chan Notice {
	d.mu.Lock()
	defer d.mu.Unlock()
	q, ok := d.queues[sink]
	if !ok {
		q = make(chan Notice, d.QueueSize)
		d.queues[sink] = q
		go d.work(sink, q)
	}
	return q
}

func (d *Dispatcher) work(sink string, q chan Notice) {
	for {
		select {
		case <-d.ctx.Done():
			return
		case n := <-q:
			d.deliver(sink, n)
		}
	}
}

// deliver sends n to sink once, retrying with backoff.
func (d *Dispatcher) deliver(name string, n Notice) {
	if d.seen(n.key(name)) {
		notifications.WithLabelValues(name, ResultDeduplicated).Inc()
		return
	}
	log := logf.FromContext(d.ctx).WithName("notifications")
	wait := d.Backoff
	for attempt := 1; ; attempt++ {
		d.mu.Lock()
		i := slices.IndexFunc(d.config.Sinks, func(s Sink) bool { return s.Name == name })
		var s Sink
		if i >= 0 {
			s = d.config.Sinks[i]
		}
		d.mu.Unlock()
		if i < 0 {
			notifications.WithLabelValues(name, ResultDropped).Inc()
			return
		}
		err := d.send(s, n)
		if err == nil {
			notifications.WithLabelValues(name, ResultSent).Inc()
			return
		}
		if attempt >= d.Attempts {
			notifications.WithLabelValues(name, ResultFailed).Inc()
			log.Error(err, "giving up a notification", "sink", name, "moment", n.Moment, "product", n.Namespace+"/"+n.Product, "attempts", attempt)
			return
		}
		notifications.WithLabelValues(name, ResultRetried).Inc()
		select {
		case <-d.ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, d.MaxBackoff)
	}
}

func (d *Dispatcher) send(s Sink, n Notice) error {
	req, err := s.request(d.ctx, n)
	if err != nil {
		return err
	}
	resp, err := d.Client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return errors.New(resp.Status)
	}
	return nil
}

// seen reports whether the same notice went to the sink within the
// window, and remembers it, forgetting the oldest beyond maxRecent.
func (d *Dispatcher) seen(key string) bool {
	now := time.Now()
	d.mu.Lock()
	defer d.mu.Unlock()
	if at, ok := d.recent[key]; ok && now.Sub(at) < d.DedupeWindow {
		return true
	}
	if _, ok := d.recent[key]; !ok {
		d.order = append(d.order, key)
	}
	d.recent[key] = now
	for len(d.order) > maxRecent {
		delete(d.recent, d.order[0])
		d.order = d.order[1:]
	}
	return false
}
