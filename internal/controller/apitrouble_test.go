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

package controller

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	dto "github.com/prometheus/client_model/go"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
	"sigs.k8s.io/controller-runtime/pkg/client"

	lifecyclev1alpha1 "github.com/aipm-io/aipm-operator/api/v1alpha1"
	"github.com/aipm-io/aipm-operator/internal/metrics"
)

// apiCall is one request the operator sent into the troubled namespace.
type apiCall struct {
	at                                time.Time
	verb, resource, subresource, name string
	// code is the HTTP status answered, 0 when the request failed in transit.
	code int
}

func (c apiCall) write() bool {
	switch c.verb {
	case "create", "update", "patch", "delete", "deletecollection":
		return true
	}
	return false
}

// fault answers a call in place of the API server; a nil response and nil
// error let the call through.
type fault func(c apiCall, req *http.Request) (*http.Response, error)

// troubledAPI stands between the operator and the API server. Only calls
// into one namespace are logged and faulted, so the rest of the suite's
// objects, and the informers' cluster-wide watches, are untouched.
type troubledAPI struct {
	mu        sync.Mutex
	namespace string
	fault     fault
	calls     []apiCall
}

func (a *troubledAPI) wrap(next http.RoundTripper) http.RoundTripper {
	return roundTripperFunc(func(req *http.Request) (*http.Response, error) {
		a.mu.Lock()
		c, ok := parseCall(req, a.namespace)
		f := a.fault
		a.mu.Unlock()
		if !ok {
			return next.RoundTrip(req)
		}
		var resp *http.Response
		var err error
		if f != nil {
			resp, err = f(c, req)
		}
		if resp == nil && err == nil {
			resp, err = next.RoundTrip(req)
		} else if req.Body != nil {
			_ = req.Body.Close()
		}
		if resp != nil {
			c.code = resp.StatusCode
		}
		a.mu.Lock()
		a.calls = append(a.calls, c)
		a.mu.Unlock()
		return resp, err
	})
}

// troubleIn gives the spec a namespace of its own, makes it the one the
// faults apply to, and starts a fresh log of calls.
func (a *troubledAPI) troubleIn() string {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "apitrouble-"}}
	Expect(k8sClient.Create(ctx, ns)).To(Succeed())
	a.mu.Lock()
	defer a.mu.Unlock()
	a.namespace, a.fault, a.calls = ns.Name, nil, nil
	DeferCleanup(a.setFault, fault(nil))
	return ns.Name
}

func (a *troubledAPI) setFault(f fault) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.fault = f
}

// count returns the calls in [from, to) that match.
func (a *troubledAPI) count(from, to time.Time, match func(apiCall) bool) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	n := 0
	for _, c := range a.calls {
		if !c.at.Before(from) && c.at.Before(to) && match(c) {
			n++
		}
	}
	return n
}

// times returns when each matching call in [from, to) was made, after from.
func (a *troubledAPI) times(from, to time.Time, match func(apiCall) bool) []time.Duration {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []time.Duration
	for _, c := range a.calls {
		if !c.at.Before(from) && c.at.Before(to) && match(c) {
			out = append(out, c.at.Sub(from).Round(time.Millisecond))
		}
	}
	return out
}

// summary tallies the calls in [from, to) by verb and resource, for the
// failure message.
func (a *troubledAPI) summary(from, to time.Time) map[string]int {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := map[string]int{}
	for _, c := range a.calls {
		if !c.at.Before(from) && c.at.Before(to) {
			r := c.resource
			if c.subresource != "" {
				r += "/" + c.subresource
			}
			out[fmt.Sprintf("%s %s %d", c.verb, r, c.code)]++
		}
	}
	return out
}

type roundTripperFunc func(*http.Request) (*http.Response, error)

func (f roundTripperFunc) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }

// parseCall reads verb and resource from a namespaced request path such as
// /apis/apps/v1/namespaces/NS/deployments/NAME or .../aiproducts/NAME/status.
func parseCall(req *http.Request, namespace string) (apiCall, bool) {
	marker := "/namespaces/" + namespace + "/"
	i := strings.Index(req.URL.Path, marker)
	if namespace == "" || i < 0 {
		return apiCall{}, false
	}
	parts := strings.Split(req.URL.Path[i+len(marker):], "/")
	c := apiCall{at: time.Now(), resource: parts[0]}
	if len(parts) > 1 {
		c.name = parts[1]
	}
	if len(parts) > 2 {
		c.subresource = parts[2]
	}
	switch req.Method {
	case http.MethodGet:
		c.verb = "get"
		if c.name == "" {
			c.verb = "list"
		}
		if req.URL.Query().Get("watch") == "true" {
			c.verb = "watch"
		}
	case http.MethodPost:
		c.verb = "create"
	case http.MethodPut:
		c.verb = "update"
	case http.MethodPatch:
		c.verb = "patch"
	case http.MethodDelete:
		c.verb = "delete"
		if c.name == "" {
			c.verb = "deletecollection"
		}
	}
	return c, true
}

// statusResponse answers with a metav1.Status body, as the API server
// does, so that client-go decodes it into the matching apierrors type.
func statusResponse(req *http.Request, st metav1.Status, header http.Header) *http.Response {
	st.Kind, st.APIVersion = "Status", "v1"
	body, err := json.Marshal(st)
	Expect(err).NotTo(HaveOccurred())
	if header == nil {
		header = http.Header{}
	}
	header.Set("Content-Type", "application/json")
	return &http.Response{StatusCode: int(st.Code), Status: http.StatusText(int(st.Code)), Proto: "HTTP/1.1",
		ProtoMajor: 1, ProtoMinor: 1, Header: header, Body: io.NopCloser(bytes.NewReader(body)),
		ContentLength: int64(len(body)), Request: req}
}

// statusConflicts reads aipm_status_conflicts_total, without client_golang's
// testutil, which would add a module to go.mod.
func statusConflicts() float64 {
	var m dto.Metric
	Expect(metrics.StatusConflicts.Write(&m)).To(Succeed())
	return m.GetCounter().GetValue()
}

// conflictStatusWrites answers the first n status writes of the named product
// with 409 Conflict, as a write raced by another writer is answered.
func conflictStatusWrites(product string, n int) fault {
	var mu sync.Mutex
	left := n
	return func(c apiCall, req *http.Request) (*http.Response, error) {
		if c.verb != "update" || c.resource != "aiproducts" || c.subresource != "status" || c.name != product {
			return nil, nil
		}
		mu.Lock()
		defer mu.Unlock()
		if left == 0 {
			return nil, nil
		}
		left--
		gr := schema.GroupResource{Group: lifecyclev1alpha1.GroupVersion.Group, Resource: "aiproducts"}
		err := apierrors.NewConflict(gr, product, fmt.Errorf("the object has been modified; please apply your changes to the latest version and try again"))
		return statusResponse(req, err.ErrStatus, nil), nil
	}
}

// writeKind names one kind of write: verb, resource and subresource.
type writeKind struct{ verb, resource, subresource string }

// conflicts answers the first write of each kind with a Conflict, as the
// API server does when the object changed since it was read.
type conflicts struct {
	mu   sync.Mutex
	left map[writeKind]bool
}

func conflictFirstOfEach(kinds []writeKind) *conflicts {
	c := &conflicts{left: map[writeKind]bool{}}
	for _, k := range kinds {
		c.left[k] = true
	}
	return c
}

func (c *conflicts) fault(call apiCall, req *http.Request) (*http.Response, error) {
	k := writeKind{call.verb, call.resource, call.subresource}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.left[k] {
		return nil, nil
	}
	c.left[k] = false
	gr := schema.GroupResource{Resource: call.resource}
	err := apierrors.NewConflict(gr, call.name, fmt.Errorf("the object has been modified; please apply your changes to the latest version and try again"))
	return statusResponse(req, err.ErrStatus, nil), nil
}

// answered reports whether a write of kind k met its conflict.
func (c *conflicts) answered(k writeKind) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return !c.left[k]
}

// throttleWrites answers every write with 429 and Retry-After: 1, as API
// Priority and Fairness does when the operator's flow is over its share.
func throttleWrites(c apiCall, req *http.Request) (*http.Response, error) {
	if !c.write() {
		return nil, nil
	}
	err := apierrors.NewTooManyRequests("the server has received too many requests and has asked us to try again later", 1)
	return statusResponse(req, err.ErrStatus, http.Header{"Retry-After": []string{"1"}}), nil
}

// hangDeploymentWrites holds every write to a Deployment for d, then fails
// it in transit the way a dropped connection's read deadline does.
func hangDeploymentWrites(d time.Duration) fault {
	return func(c apiCall, req *http.Request) (*http.Response, error) {
		if !c.write() || c.resource != "deployments" {
			return nil, nil
		}
		select {
		case <-time.After(d):
		case <-req.Context().Done():
		}
		return nil, &net.OpError{Op: "read", Net: "tcp", Err: os.ErrDeadlineExceeded}
	}
}

// eligibleIn creates a version of p in p's namespace and waits for it to be
// Eligible.
func eligibleIn(p *lifecyclev1alpha1.AIProduct, name, semver string) *lifecyclev1alpha1.ModelVersion {
	mv := newVersion(p.Name, semver, "auc", "0.9")
	mv.Name, mv.Namespace = name, p.Namespace
	Expect(k8sClient.Create(ctx, mv)).To(Succeed())
	DeferCleanup(func() { _ = k8sClient.Delete(ctx, mv) })
	Eventually(func(g Gomega) { g.Expect(fetchMV(g, mv).Status.Eligible).To(BeTrue()) }).Should(Succeed())
	return mv
}

// servingFirst puts p, pinned to a version that does not exist yet, into
// Delivery beside an Eligible v1, so that pinning v1 starts the first
// rollout at a moment the spec chooses.
func servingFirst(ns string) (*lifecyclev1alpha1.AIProduct, *lifecyclev1alpha1.ModelVersion) {
	p := deliveryProduct("v0")
	p.Namespace = ns
	enterDelivery(p)
	mv := eligibleIn(p, "v1", "1.0.0")
	Eventually(func(g Gomega) {
		got := fetch(g, p)
		g.Expect(got.Status.ProductionVersion).To(BeEmpty())
		g.Expect(condition(got.Status.Conditions, lifecyclev1alpha1.ConditionReady).Reason).To(Equal("VersionNotFound"))
	}).Should(Succeed())
	return p, mv
}

// expectServing waits for p to serve v1 as production, and nothing else, as
// it would have without any trouble. It stops at once if the product ever
// names a production version whose Deployment does not exist.
func expectServing(p *lifecyclev1alpha1.AIProduct, mv *lifecyclev1alpha1.ModelVersion) {
	Eventually(func(g Gomega) {
		// Product first: a Deployment listed after it cannot be older than
		// the status that names it.
		got := fetch(g, p)
		ds := deployments(g, p)
		if got.Status.ProductionVersion != "" && ds[p.Name+"-"+got.Status.ProductionVersion] == nil {
			StopTrying(fmt.Sprintf("status names %s as production, but its Deployment does not exist", got.Status.ProductionVersion)).Now()
		}
		g.Expect(ds).To(HaveLen(1))
		g.Expect(ds).To(HaveKey(p.Name + "-v1"))
		g.Expect(got.Status.ProductionVersion).To(Equal("v1"))
		g.Expect(condition(got.Status.Conditions, lifecyclev1alpha1.ConditionServing).Reason).To(Equal("Available"))
		g.Expect(condition(got.Status.Conditions, lifecyclev1alpha1.ConditionReady).Status).To(Equal(metav1.ConditionTrue))
		g.Expect(kstatusOf(got)).To(Equal(status.CurrentStatus))
		g.Expect(stageOf(g, mv)).To(Equal(lifecyclev1alpha1.StageProduction))
	}).Should(Succeed())
}

// eventCount returns how many times obj was told reason, counting each
// Event object's series.
func eventCount(obj client.Object, reason string) int {
	var list eventsv1.EventList
	ExpectWithOffset(1, k8sClient.List(ctx, &list, client.InNamespace(obj.GetNamespace()))).To(Succeed())
	n := 0
	for _, e := range list.Items {
		if e.Regarding.UID != obj.GetUID() || e.Reason != reason {
			continue
		}
		n++
		if e.Series != nil {
			n += int(e.Series.Count) - 1
		}
	}
	return n
}

var _ = Describe("API server trouble", Ordered, func() {
	var api *troubledAPI

	BeforeAll(func() {
		api = &troubledAPI{}
		stopManager()
		startManagerWith(querierInUse, api.wrap)
		// The specs after these get the operator as it always runs.
		DeferCleanup(restartManager)
	})

	// Deployments are applied (server-side apply: a PATCH) and the apply
	// that creates one answers 201.
	isDeploymentCreate := func(c apiCall) bool {
		return (c.verb == "create" || c.verb == "patch") && c.resource == "deployments"
	}

	It("keeps serving and measuring drift while its experiments fail, each part with its own condition", func() {
		ns := api.troubleIn()
		p := retrainingProduct()
		p.Namespace = ns
		enterDelivery(p)
		mv := eligibleIn(p, "v1", "1.0.0")
		psi := fmt.Sprintf(`psi{product=%q, version="v1"}`, p.Name)
		fakeProm.Set(psi, 0.05)
		expectServing(p, mv)

		By("the API server refusing every write of an Experiment")
		api.setFault(func(c apiCall, req *http.Request) (*http.Response, error) {
			if !c.write() || c.resource != "experiments" {
				return nil, nil
			}
			return statusResponse(req, apierrors.NewInternalError(fmt.Errorf("etcd is unhappy")).ErrStatus, nil), nil
		})
		Eventually(func(g Gomega) {
			got := fetch(g, p)
			got.Spec.Discovery.Experiments[0].Hypothesis = "changed, so the Experiment must be written"
			g.Expect(k8sClient.Update(ctx, got)).To(Succeed())
		}).Should(Succeed())
		fakeProm.Set(psi, 0.35)
		Eventually(func(g Gomega) {
			got := fetch(g, p)
			exps := condition(got.Status.Conditions, lifecyclev1alpha1.ConditionExperimentsReady)
			g.Expect(exps.Status).To(Equal(metav1.ConditionFalse))
			g.Expect(exps.Reason).To(Equal(lifecyclev1alpha1.ReasonExperimentsError))
			g.Expect(exps.Message).To(ContainSubstring("etcd is unhappy"))
			g.Expect(condition(got.Status.Conditions, lifecyclev1alpha1.ConditionServing).Reason).To(Equal(lifecyclev1alpha1.ReasonAvailable))
			g.Expect(got.Status.DriftState).To(Equal("Breached"), "drift is still measured")
			g.Expect(got.Status.Drift[0].Value).To(Equal(lifecyclev1alpha1.Decimal("0.35")))
			g.Expect(condition(got.Status.Conditions, lifecyclev1alpha1.ConditionDrifted).Reason).To(Equal(lifecyclev1alpha1.ReasonBreachNotSustained))
			ready := condition(got.Status.Conditions, lifecyclev1alpha1.ConditionReady)
			g.Expect(ready.Reason).To(Equal(lifecyclev1alpha1.ReasonReconcileError))
			g.Expect(ready.Message).To(ContainSubstring("experiments:"))
		}, 30*time.Second).Should(Succeed())
		Expect(deployments(Default, p)).To(HaveKey(p.Name + "-v1"))

		By("the API server accepting them again: every part is well")
		api.setFault(nil)
		fakeProm.Set(psi, 0.05)
		Eventually(func(g Gomega) {
			got := fetch(g, p)
			g.Expect(condition(got.Status.Conditions, lifecyclev1alpha1.ConditionExperimentsReady).Status).To(Equal(metav1.ConditionTrue))
			g.Expect(condition(got.Status.Conditions, lifecyclev1alpha1.ConditionReady).Status).To(Equal(metav1.ConditionTrue))
		}, 30*time.Second).Should(Succeed())
	})

	It("retries a conflict on every kind of write to the right end state, quietly", func() {
		ns := api.troubleIn()
		p := retrainingProduct()
		p.Namespace = ns
		p.Spec.Delivery.ModelVersion.Name = "v0"
		p.Spec.Delivery.Retraining.OnDrift = false
		p.Spec.Delivery.Retraining.Schedule = "0 3 * * *"
		writes := []writeKind{
			{"update", "aiproducts", "status"}, {"update", "modelversions", "status"},
			{"create", "deployments", ""}, {"create", "services", ""},
			{"create", "retrainingruns", ""}, {"update", "retrainingruns", "status"},
			{"create", "jobs", ""}, {"create", "modelversions", ""},
			{"patch", "experiments", ""}, {"update", "experiments", "status"},
		}
		conflicted := conflictFirstOfEach(writes)
		api.setFault(conflicted.fault)
		start := time.Now()
		enterDelivery(p)
		mv := eligibleIn(p, "v1", "1.0.0")

		By("serving: the product's status, the version's stage, the Deployment and the Service")
		pin(p, "v1")
		expectServing(p, mv)

		By("a retraining run: its creation, its Job, its status and the version it registers")
		annotate(p, lifecyclev1alpha1.AnnotationRetrain, "ticket-7")
		var job batchv1.Job
		Eventually(func(g Gomega) {
			jobs := productJobs(g, p)
			g.Expect(jobs).To(HaveLen(1))
			job = jobs[0]
		}).Should(Succeed())
		finishJob(&job, goodResult)
		Eventually(func(g Gomega) {
			got := fetch(g, p)
			g.Expect(got.Status.Retraining.LastRun).NotTo(BeNil())
			g.Expect(got.Status.Retraining.LastRun.Phase).To(Equal(lifecyclev1alpha1.RunSucceeded))
			g.Expect(got.Status.Retraining.LastRun.ModelVersion).To(Equal(p.Name + "-v1-0-1"))
		}).Should(Succeed())

		By("an experiment: its object and its status")
		Eventually(func(g Gomega) {
			got := fetch(g, p)
			got.Spec.Discovery.Experiments[0].Type = lifecyclev1alpha1.ExperimentSandbox
			got.Spec.Discovery.Experiments[0].ModelVersion = "v1"
			g.Expect(k8sClient.Update(ctx, got)).To(Succeed())
		}).Should(Succeed())
		// The Experiment existed before the change, with a phase: what
		// shows the change through is its new spec, patched by the
		// product, and a status written for that generation.
		Eventually(func(g Gomega) {
			e := &lifecyclev1alpha1.Experiment{}
			g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: p.Namespace, Name: ExperimentName(p.Name, "shadow")}, e)).To(Succeed())
			g.Expect(e.Spec.Type).To(Equal(lifecyclev1alpha1.ExperimentSandbox))
			g.Expect(e.Status.ObservedGeneration).To(Equal(e.Generation))
			g.Expect(e.Status.Phase).NotTo(BeEmpty())
		}).Should(Succeed())

		By("every kind of write met its conflict, and none made a Warning")
		for _, w := range writes {
			Expect(conflicted.answered(w)).To(BeTrue(), "no conflict answered for %v", w)
		}
		GinkgoWriter.Printf("calls with conflicts: %v\n", api.summary(start, time.Now()))
		expectServing(p, mv)
		var list eventsv1.EventList
		Expect(k8sClient.List(ctx, &list, client.InNamespace(ns))).To(Succeed())
		// The product's own waits (a Discovery gate without a verdict yet,
		// a pinned version not yet created) are Warnings with or without
		// conflicts; what a conflict must never make is an error of its own,
		// and the versions, the run and the experiment, healthy all along,
		// tell nothing bad at all.
		for _, e := range list.Items {
			if e.Type != corev1.EventTypeWarning {
				continue
			}
			what := fmt.Sprintf("%s %s: %s %s", e.Regarding.Kind, e.Regarding.Name, e.Reason, e.Note)
			Expect(e.Reason).NotTo(Equal(lifecyclev1alpha1.ReasonReconcileError), what)
			Expect(e.Note).NotTo(ContainSubstring("has been modified"), what)
			Expect(e.Regarding.Kind).To(Equal("AIProduct"), what)
		}
	})

	It("decides again after status conflicts, serves as it would have, and does nothing twice", func() {
		ns := api.troubleIn()
		p, mv := servingFirst(ns)
		conflictsBefore := statusConflicts()
		const conflicts = 5
		api.setFault(conflictStatusWrites(p.Name, conflicts))
		start := time.Now()
		pin(p, "v1")

		expectServing(p, mv)
		now := time.Now()
		isStatusWrite := func(c apiCall) bool {
			return c.verb == "update" && c.resource == "aiproducts" && c.subresource == "status" && c.name == p.Name
		}
		GinkgoWriter.Printf("calls during conflicts: %v\n", api.summary(start, now))
		Expect(api.count(start, now, func(c apiCall) bool { return isStatusWrite(c) && c.code == http.StatusConflict })).
			To(Equal(conflicts), "every conflict was answered")
		Expect(api.count(start, now, func(c apiCall) bool { return isStatusWrite(c) && c.code == http.StatusOK })).
			To(BeNumerically(">=", 1))
		// One attempt per conflict, then the write that lands (measured: 6
		// in all, within 0.2s), and a spare for a second, later write.
		Expect(api.count(start, now, isStatusWrite)).To(BeNumerically("<=", conflicts+2))
		Expect(statusConflicts() - conflictsBefore).To(BeNumerically(">=", conflicts))

		By("one Deployment created, one production decision, written and told once")
		Expect(api.count(start, now, func(c apiCall) bool { return isDeploymentCreate(c) && c.code == http.StatusCreated })).To(Equal(1))
		got := &lifecyclev1alpha1.AIProduct{}
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(p), got)).To(Succeed())
		Expect(got.Status.PhaseHistory).To(HaveLen(3), "Strategy, Discovery, Delivery: each entered once")
		Eventually(func() []string { return eventReasons(p) }).Should(ContainElement("ProductionSet"))
		isStageWrite := func(c apiCall) bool {
			return c.verb == "update" && c.resource == "modelversions" && c.subresource == "status" && c.name == mv.Name &&
				c.code == http.StatusOK
		}
		Consistently(func(g Gomega) {
			g.Expect(api.count(start, time.Now(), isStageWrite)).To(Equal(1), "the stage was written once")
			// The product's own events are told by every attempt that made
			// the decision, refused ones included; `kubectl get events`
			// shows them as one Event with a series.
			objects := 0
			for _, r := range eventReasons(p) {
				if r == "ProductionSet" {
					objects++
				}
			}
			g.Expect(objects).To(Equal(1))
			g.Expect(eventCount(p, "ProductionSet")).To(BeNumerically("<=", 1+conflicts))
		}, 2*time.Second).Should(Succeed())
	})

	It("waits out 429 throttling at the pace the server asks, claims nothing it could not do, and converges after", func() {
		ns := api.troubleIn()
		p, mv := servingFirst(ns)
		api.setFault(throttleWrites)
		start := time.Now()
		pin(p, "v1")

		const window = 6 * time.Second
		Consistently(func(g Gomega) {
			got := fetch(g, p)
			g.Expect(got.Status.ProductionVersion).To(BeEmpty())
			g.Expect(condition(got.Status.Conditions, lifecyclev1alpha1.ConditionServing).Status).NotTo(Equal(metav1.ConditionTrue))
			g.Expect(condition(got.Status.Conditions, lifecyclev1alpha1.ConditionReady).Status).NotTo(Equal(metav1.ConditionTrue))
			g.Expect(deployments(g, p)).To(BeEmpty())
		}, window, 250*time.Millisecond).Should(Succeed())
		api.setFault(nil)
		end := time.Now()

		GinkgoWriter.Printf("calls during throttling (%s): %v\n", end.Sub(start), api.summary(start, end))
		Expect(api.count(start, end, func(c apiCall) bool { return c.code == http.StatusTooManyRequests })).To(BeNumerically(">=", 2),
			"the operator kept trying while throttled")
		// client-go retries a 429 with Retry-After itself, sleeping the
		// seconds asked, up to 10 times, while the reconcile worker waits
		// on the call: one attempt a second, plus the first, is 7 Deployment
		// creates in the window (measured: 6). Without Retry-After the
		// workqueue's backoff alone allows 11 here, a hot loop hundreds.
		// Three callers write into the namespace, each one call at a time
		// (the AIProduct worker, the ModelVersion worker, the event sink):
		// 21 writes at most (measured: the 6 creates, nothing else).
		perCaller := int(window/time.Second) + 1
		Expect(api.count(start, end, isDeploymentCreate)).To(BeNumerically("<=", perCaller))
		Expect(api.count(start, end, apiCall.write)).To(BeNumerically("<=", 3*perCaller))

		expectServing(p, mv)
	})

	It("backs off while Deployment writes time out, says so in Ready, and converges after", func() {
		ns := api.troubleIn()
		p, mv := servingFirst(ns)
		api.setFault(hangDeploymentWrites(300 * time.Millisecond))
		start := time.Now()
		pin(p, "v1")

		const window = 8 * time.Second
		Eventually(func(g Gomega) {
			got := fetch(g, p)
			ready := condition(got.Status.Conditions, lifecyclev1alpha1.ConditionReady)
			g.Expect(ready.Status).To(Equal(metav1.ConditionFalse))
			g.Expect(ready.Reason).To(Equal("ReconcileError"))
			g.Expect(ready.Message).To(ContainSubstring("i/o timeout"))
			g.Expect(kstatusOf(got)).To(Equal(status.InProgressStatus))
		}).Should(Succeed())
		Consistently(func(g Gomega) {
			got := fetch(g, p)
			g.Expect(got.Status.ProductionVersion).To(BeEmpty(), "nothing serves v1")
			g.Expect(condition(got.Status.Conditions, lifecyclev1alpha1.ConditionServing).Status).NotTo(Equal(metav1.ConditionTrue))
			g.Expect(condition(got.Status.Conditions, lifecyclev1alpha1.ConditionReady).Reason).To(Equal("ReconcileError"))
			g.Expect(stageOf(g, mv)).NotTo(Equal(lifecyclev1alpha1.StageProduction))
			g.Expect(deployments(g, p)).To(BeEmpty())
		}, time.Until(start.Add(window)), 250*time.Millisecond).Should(Succeed())
		api.setFault(nil)
		end := time.Now()

		GinkgoWriter.Printf("calls during timeouts (%s): %v\n", end.Sub(start), api.summary(start, end))
		attempts := api.times(start, end, isDeploymentCreate)
		GinkgoWriter.Printf("Deployment create attempts at: %v\n", attempts)
		Expect(len(attempts)).To(BeNumerically(">=", 3), "the operator kept trying")
		// A failed reconcile is requeued by controller-runtime's limiter,
		// 5ms doubling per failure; each attempt also hangs 300ms. That
		// fits 10 attempts in 8s (measured: 10, the gaps growing from
		// 0.3s to 1.6s). A requeue without backoff would make about 26.
		Expect(len(attempts)).To(BeNumerically("<=", 15))
		var widest time.Duration
		for i := 1; i < len(attempts); i++ {
			widest = max(widest, attempts[i]-attempts[i-1])
		}
		Expect(widest).To(BeNumerically(">=", time.Second), "the pause between attempts grows")

		expectServing(p, mv)
	})
})
