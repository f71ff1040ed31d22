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
	"fmt"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	lifecyclev1alpha1 "github.com/aipm-io/aipm-operator/api/v1alpha1"
	"github.com/aipm-io/aipm-operator/internal/apply"
	"github.com/aipm-io/aipm-operator/internal/serving"
)

// deliveryProduct is a product asking for Delivery with a Deployment
// backend of 4 replicas pinned to version, and the given steps.
func deliveryProduct(version string, steps ...lifecyclev1alpha1.RolloutStep) *lifecyclev1alpha1.AIProduct {
	p := newProduct(lifecyclev1alpha1.PhaseDelivery)
	p.Spec.Delivery = &lifecyclev1alpha1.DeliverySpec{
		ModelVersion: lifecyclev1alpha1.ModelVersionSelection{Policy: lifecyclev1alpha1.VersionPinned, Name: lifecyclev1alpha1.LocalObjectName(version)},
		Serving: lifecyclev1alpha1.ServingSpec{Backend: lifecyclev1alpha1.BackendDeployment, Replicas: 4, Port: 8080, ModelURIEnv: "MODEL_URI",
			Template: &corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "server", Image: "example.com/server:1"}}}}},
	}
	if len(steps) > 0 {
		p.Spec.Delivery.Rollout = &lifecyclev1alpha1.RolloutSpec{Steps: steps}
	}
	return p
}

// enterDelivery creates the product and records the experiment success that
// opens its Discovery gate, standing in for the experiment's reconciler.
func enterDelivery(p *lifecyclev1alpha1.AIProduct) {
	Expect(k8sClient.Create(ctx, p)).To(Succeed())
	DeferCleanup(func() { _ = k8sClient.Delete(ctx, p) })
	finishExperiment(p, "shadow", lifecyclev1alpha1.VerdictSucceeded, "")
	Eventually(func(g Gomega) { g.Expect(fetch(g, p).Status.Phase).To(Equal(lifecyclev1alpha1.PhaseDelivery)) }).Should(Succeed())
}

// finishExperiment writes the verdict of the product's Experiment name, as
// the Experiment's own reconciler would at the end of its duration.
func finishExperiment(p *lifecyclev1alpha1.AIProduct, name string, verdict lifecyclev1alpha1.ExperimentVerdict, msg string) {
	Eventually(func(g Gomega) {
		e := &lifecyclev1alpha1.Experiment{}
		g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: p.Namespace, Name: ExperimentName(p.Name, name)}, e)).To(Succeed())
		now := metav1.Now()
		e.Status.Phase, e.Status.Verdict, e.Status.Message = lifecyclev1alpha1.ExperimentFinished, verdict, msg
		e.Status.StartedAt, e.Status.FinishedAt = &now, &now
		g.Expect(k8sClient.Status().Update(ctx, e)).To(Succeed())
	}).Should(Succeed())
}

func annotate(p *lifecyclev1alpha1.AIProduct, key, value string) {
	Eventually(func(g Gomega) {
		got := fetch(g, p)
		if got.Annotations == nil {
			got.Annotations = map[string]string{}
		}
		got.Annotations[key] = value
		g.Expect(k8sClient.Update(ctx, got)).To(Succeed())
	}).Should(Succeed())
}

func pin(p *lifecyclev1alpha1.AIProduct, version string) {
	Eventually(func(g Gomega) {
		got := fetch(g, p)
		got.Spec.Delivery.ModelVersion.Name = lifecyclev1alpha1.LocalObjectName(version)
		g.Expect(k8sClient.Update(ctx, got)).To(Succeed())
	}).Should(Succeed())
}

// eligibleVersion creates a version of p and waits for it to be Eligible.
func eligibleVersion(p *lifecyclev1alpha1.AIProduct, name, semver string) *lifecyclev1alpha1.ModelVersion {
	mv := newVersion(p.Name, semver, "auc", "0.9")
	mv.Name = name
	Expect(k8sClient.Create(ctx, mv)).To(Succeed())
	DeferCleanup(func() { _ = k8sClient.Delete(ctx, mv) })
	Eventually(func(g Gomega) { g.Expect(fetchMV(g, mv).Status.Eligible).To(BeTrue()) }).Should(Succeed())
	return mv
}

// deployments returns the product's Deployments by name, marking each
// available as the Deployment controller would (envtest runs none).
func deployments(g Gomega, p *lifecyclev1alpha1.AIProduct) map[string]*appsv1.Deployment {
	var list appsv1.DeploymentList
	g.Expect(k8sClient.List(ctx, &list, client.InNamespace(p.Namespace), client.MatchingLabels{lifecyclev1alpha1.LabelProduct: p.Name})).To(Succeed())
	out := map[string]*appsv1.Deployment{}
	for i := range list.Items {
		d := &list.Items[i]
		want := *d.Spec.Replicas
		markAvailable(g, d, want)
		out[d.Name] = d
	}
	return out
}

// markAvailable plays the Deployment controller for d: a ReplicaSet of its
// own that has acted on its spec, and have of want pods available in both
// statuses, as the operator reads them before it takes capacity away.
func markAvailable(g Gomega, d *appsv1.Deployment, have int32) {
	want := *d.Spec.Replicas
	yes := true
	rs := &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: d.Name + "-rs", Namespace: d.Namespace}}
	_, err := controllerutil.CreateOrUpdate(ctx, k8sClient, rs, func() error {
		// envtest runs no garbage collector: a ReplicaSet of a deleted
		// Deployment of the same name is taken over.
		rs.Labels = d.Spec.Template.Labels
		rs.OwnerReferences = []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "Deployment", Name: d.Name, UID: d.UID, Controller: &yes}}
		rs.Spec = appsv1.ReplicaSetSpec{Replicas: &want, Selector: d.Spec.Selector, Template: d.Spec.Template}
		return nil
	})
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		return // the Deployment went, or the next call catches up
	}
	g.Expect(err).NotTo(HaveOccurred())
	if rs.Status.ObservedGeneration != rs.Generation || rs.Status.AvailableReplicas != have {
		rs.Status = appsv1.ReplicaSetStatus{ObservedGeneration: rs.Generation, Replicas: want, ReadyReplicas: have, AvailableReplicas: have}
		g.Expect(client.IgnoreNotFound(k8sClient.Status().Update(ctx, rs))).To(Succeed())
	}
	if d.Status.ObservedGeneration != d.Generation || d.Status.AvailableReplicas != have || d.Status.UpdatedReplicas != want {
		d.Status = appsv1.DeploymentStatus{ObservedGeneration: d.Generation, Replicas: want, UpdatedReplicas: want,
			ReadyReplicas: have, AvailableReplicas: have}
		g.Expect(client.IgnoreNotFound(k8sClient.Status().Update(ctx, d))).To(Succeed())
	}
}

// routeFor creates an empty HTTPRoute and points p's serving at it.
func routeFor(p *lifecyclev1alpha1.AIProduct) *gatewayv1.HTTPRoute {
	p.Spec.Delivery.Serving.HTTPRoute = &lifecyclev1alpha1.HTTPRouteRef{Name: lifecyclev1alpha1.LocalObjectName(p.Name + "-route")}
	route := &gatewayv1.HTTPRoute{
		ObjectMeta: metav1.ObjectMeta{Name: p.Name + "-route", Namespace: "default"},
		Spec: gatewayv1.HTTPRouteSpec{
			CommonRouteSpec: gatewayv1.CommonRouteSpec{ParentRefs: []gatewayv1.ParentReference{{Name: "gateway"}}},
			Rules:           []gatewayv1.HTTPRouteRule{{}},
		},
	}
	Expect(k8sClient.Create(ctx, route)).To(Succeed())
	DeferCleanup(func() { _ = k8sClient.Delete(ctx, route) })
	return route
}

// productionV1 creates an Eligible v1 of p and waits until it serves as
// production.
func productionV1(p *lifecyclev1alpha1.AIProduct) *lifecyclev1alpha1.ModelVersion {
	mv := eligibleVersion(p, "v1", "1.0.0")
	Eventually(func(g Gomega) {
		deployments(g, p)
		g.Expect(fetch(g, p).Status.ProductionVersion).To(Equal("v1"))
	}).Should(Succeed())
	return mv
}

func stageOf(g Gomega, mv *lifecyclev1alpha1.ModelVersion) lifecyclev1alpha1.Stage {
	return fetchMV(g, mv).Status.Stage
}

var _ = Describe("Serving and rollouts", func() {
	errorQuery := func(p *lifecyclev1alpha1.AIProduct, version string) string {
		return fmt.Sprintf(`errors{product=%q, version=%q}`, p.Name, version)
	}
	analysisStep := lifecyclev1alpha1.RolloutStep{Analysis: &lifecyclev1alpha1.AnalysisSpec{
		Metrics:  []lifecyclev1alpha1.MetricCheck{{Name: "error-rate", Query: "errors{product=$product, version=$version}", Threshold: "0.01", Direction: lifecyclev1alpha1.AtMost}},
		Interval: metav1.Duration{Duration: time.Second}, Count: 2,
	}}

	It("renders a Deployment per live version and one Service, and rolls a good version out to Production", func() {
		p := deliveryProduct("v1", lifecyclev1alpha1.RolloutStep{SetWeight: ptr.To[int32](50)}, analysisStep, lifecyclev1alpha1.RolloutStep{SetWeight: ptr.To[int32](100)})
		enterDelivery(p)
		v1mv := eligibleVersion(p, "v1", "1.0.0")

		By("serving the first version as production at full replicas")
		Eventually(func(g Gomega) {
			ds := deployments(g, p)
			d := ds[p.Name+"-v1"]
			g.Expect(d).NotTo(BeNil())
			g.Expect(*d.Spec.Replicas).To(Equal(int32(4)))
			g.Expect(d.Spec.Template.Labels).To(HaveKeyWithValue(lifecyclev1alpha1.LabelVersion, "v1"))
			g.Expect(d.Spec.Template.Spec.Containers[0].Env).To(ContainElement(corev1.EnvVar{Name: "MODEL_URI", Value: "s3://models/" + p.Name + "/1.0.0"}))
			g.Expect(metav1.IsControlledBy(d, fetch(g, p))).To(BeTrue())
			svc := &corev1.Service{}
			g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: p.Namespace, Name: p.Name}, svc)).To(Succeed())
			g.Expect(svc.Spec.Selector).To(Equal(serving.SelectorLabels(p.Name)))
			got := fetch(g, p)
			g.Expect(got.Status.ProductionVersion).To(Equal("v1"))
			g.Expect(condition(got.Status.Conditions, lifecyclev1alpha1.ConditionServing).Status).To(Equal(metav1.ConditionTrue))
			g.Expect(condition(got.Status.Conditions, lifecyclev1alpha1.ConditionReady).Status).To(Equal(metav1.ConditionTrue))
			g.Expect(kstatusOf(got)).To(Equal(status.CurrentStatus))
			g.Expect(stageOf(g, v1mv)).To(Equal(lifecyclev1alpha1.StageProduction))
		}).Should(Succeed())
		// The move is told once, on the product, which names the version.
		Eventually(func() []string { return eventReasons(p) }).Should(ContainElement("ProductionSet"))
		Expect(eventReasons(v1mv)).NotTo(ContainElement(HavePrefix("Stage")))

		By("pinning v2 with good metrics, the canary passes its analysis and is promoted")
		v2mv := eligibleVersion(p, "v2", "2.0.0")
		fakeProm.Set(errorQuery(p, "v2"), 0.001)
		pin(p, "v2")
		Eventually(func(g Gomega) {
			ds := deployments(g, p)
			got := fetch(g, p)
			g.Expect(got.Status.Rollout).NotTo(BeNil())
			g.Expect(got.Status.Rollout.CanaryVersion).To(Equal("v2"))
			// The canary's 50% step lasts one analysis (about a second):
			// when a poll lands in it, two replicas each.
			if got.Status.Rollout.Phase == lifecyclev1alpha1.RolloutProgressing && got.Status.Rollout.Weight == 50 {
				// The Deployments were listed before the status was read:
				// a list from before the canary's Deployment retries.
				g.Expect(ds).To(HaveKey(p.Name + "-v2"))
				g.Expect(ds).To(HaveKey(p.Name + "-v1"))
				g.Expect(*ds[p.Name+"-v2"].Spec.Replicas).To(Equal(int32(2)))
				g.Expect(*ds[p.Name+"-v1"].Spec.Replicas).To(Equal(int32(2)))
				g.Expect(kstatusOf(got)).To(Equal(status.InProgressStatus))
			}
		}).Should(Succeed())
		Eventually(func() []string { return eventNotes(p) }).Should(ContainElement("Completed step 1 of the rollout of v2: it serves at 50%"))
		Eventually(func(g Gomega) {
			ds := deployments(g, p)
			got := fetch(g, p)
			g.Expect(got.Status.Rollout.Phase).To(Equal(lifecyclev1alpha1.RolloutSucceeded))
			g.Expect(got.Status.ProductionVersion).To(Equal("v2"))
			g.Expect(got.Status.Rollout.Weight).To(Equal(int32(100)))
			g.Expect(got.Status.Rollout.FinishedAt).NotTo(BeNil())
			g.Expect(ds).To(HaveKey(p.Name + "-v2"))
			g.Expect(ds).NotTo(HaveKey(p.Name + "-v1"))
			g.Expect(*ds[p.Name+"-v2"].Spec.Replicas).To(Equal(int32(4)))
			g.Expect(stageOf(g, v2mv)).To(Equal(lifecyclev1alpha1.StageProduction))
			g.Expect(stageOf(g, v1mv)).To(Equal(lifecyclev1alpha1.StageArchived))
			g.Expect(kstatusOf(got)).To(Equal(status.CurrentStatus))
		}).Should(Succeed())
		Expect(fakeProm.Count(errorQuery(p, "v2"))).To(BeNumerically(">=", 2))
		Eventually(func() []string { return eventReasons(p) }).Should(ContainElements("RolloutStarted", "StepCompleted", "AnalysisPassed", "RolloutSucceeded"))

		By("a bad version failing its analysis, traffic returns to v2 and v3 is Rejected with the failing metric")
		v3mv := eligibleVersion(p, "v3", "3.0.0")
		fakeProm.Set(errorQuery(p, "v3"), 0.2)
		pin(p, "v3")
		Eventually(func(g Gomega) {
			ds := deployments(g, p)
			got := fetch(g, p)
			g.Expect(got.Status.Rollout.CanaryVersion).To(Equal("v3"))
			g.Expect(got.Status.Rollout.Phase).To(Equal(lifecyclev1alpha1.RolloutAborted))
			g.Expect(got.Status.Rollout.Weight).To(Equal(int32(0)))
			g.Expect(got.Status.ProductionVersion).To(Equal("v2"))
			g.Expect(ds).NotTo(HaveKey(p.Name + "-v3"))
			g.Expect(*ds[p.Name+"-v2"].Spec.Replicas).To(Equal(int32(4)))
			mv := fetchMV(g, v3mv)
			g.Expect(mv.Status.Stage).To(Equal(lifecyclev1alpha1.StageRejected))
			g.Expect(mv.Status.StageReason).To(Equal("v3 rolled back: analysis metric error-rate was 0.2, threshold at most 0.01"))
			g.Expect(condition(got.Status.Conditions, lifecyclev1alpha1.ConditionStalled).Reason).To(Equal("RolloutAborted"))
			g.Expect(kstatusOf(got)).To(Equal(status.FailedStatus))
			// A rejected version is done for good: Failed to kstatus too.
			g.Expect(condition(mv.Status.Conditions, lifecyclev1alpha1.ConditionStalled).Reason).To(Equal("Rejected"))
			g.Expect(kstatusOf(mv)).To(Equal(status.FailedStatus))
		}).Should(Succeed())

		By("retrying after the metric recovers, v3 goes out from step one and is promoted")
		fakeProm.Set(errorQuery(p, "v3"), 0.002)
		annotate(p, lifecyclev1alpha1.AnnotationRetry, "after-fix")
		Eventually(func(g Gomega) {
			deployments(g, p)
			got := fetch(g, p)
			g.Expect(got.Annotations).NotTo(HaveKey(lifecyclev1alpha1.AnnotationRetry))
			g.Expect(got.Status.LastRequest).NotTo(BeNil())
			g.Expect(got.Status.LastRequest.Action).To(Equal("Retry"))
			g.Expect(got.Status.ProductionVersion).To(Equal("v3"))
			g.Expect(stageOf(g, v3mv)).To(Equal(lifecyclev1alpha1.StageProduction))
			g.Expect(stageOf(g, v2mv)).To(Equal(lifecyclev1alpha1.StageArchived))
		}).Should(Succeed())
	})

	It("pauses as Inconclusive when Prometheus has no data, and never promotes on it", func() {
		p := deliveryProduct("v1", lifecyclev1alpha1.RolloutStep{SetWeight: ptr.To[int32](25)}, analysisStep)
		enterDelivery(p)
		productionV1(p)
		eligibleVersion(p, "v2", "2.0.0")
		fakeProm.Unset(errorQuery(p, "v2"))
		pin(p, "v2")
		Eventually(func(g Gomega) {
			deployments(g, p)
			got := fetch(g, p)
			g.Expect(got.Status.Rollout).NotTo(BeNil())
			g.Expect(got.Status.Rollout.Phase).To(Equal(lifecyclev1alpha1.RolloutInconclusive))
			g.Expect(got.Status.Rollout.Message).To(ContainSubstring("metric error-rate: no data"))
			g.Expect(got.Status.Rollout.Weight).To(Equal(int32(25)))
			g.Expect(got.Status.ProductionVersion).To(Equal("v1"))
		}).Should(Succeed())
		Consistently(func(g Gomega) {
			g.Expect(fetch(g, p).Status.ProductionVersion).To(Equal("v1"))
		}, 3*time.Second).Should(Succeed())

		By("an abort request returns all traffic to v1")
		annotate(p, lifecyclev1alpha1.AnnotationAbort, "yes")
		Eventually(func(g Gomega) {
			ds := deployments(g, p)
			got := fetch(g, p)
			g.Expect(got.Status.Rollout.Phase).To(Equal(lifecyclev1alpha1.RolloutAborted))
			g.Expect(got.Status.Rollout.Message).To(ContainSubstring("aborted by request"))
			g.Expect(ds).NotTo(HaveKey(p.Name + "-v2"))
		}).Should(Succeed())
	})

	It("pauses as Inconclusive while Prometheus is away, counts nothing, and resumes by itself", func() {
		p := deliveryProduct("v1", lifecyclev1alpha1.RolloutStep{SetWeight: ptr.To[int32](25)}, analysisStep)
		enterDelivery(p)
		productionV1(p)
		eligibleVersion(p, "v2", "2.0.0")
		fakeProm.Set(errorQuery(p, "v2"), 0.001)
		fakeProm.SetDown(true)
		DeferCleanup(func() { fakeProm.SetDown(false) })
		pin(p, "v2")
		Eventually(func(g Gomega) {
			deployments(g, p)
			ro := fetch(g, p).Status.Rollout
			g.Expect(ro).NotTo(BeNil())
			g.Expect(ro.Phase).To(Equal(lifecyclev1alpha1.RolloutInconclusive))
			g.Expect(ro.PrometheusUnavailableSince).NotTo(BeNil())
			g.Expect(ro.Message).To(ContainSubstring("resumes when Prometheus answers"))
			g.Expect(ro.Weight).To(Equal(int32(25)))
		}).Should(Succeed())
		Consistently(func(g Gomega) {
			got := fetch(g, p)
			g.Expect(got.Status.ProductionVersion).To(Equal("v1"))
			g.Expect(got.Status.Rollout.Analysis).To(BeEmpty(), "a measurement Prometheus did not answer is not counted")
		}, 3*time.Second).Should(Succeed())

		By("Prometheus answering again")
		fakeProm.SetDown(false)
		Eventually(func(g Gomega) {
			deployments(g, p)
			got := fetch(g, p)
			g.Expect(got.Status.Rollout.Phase).To(Equal(lifecyclev1alpha1.RolloutSucceeded))
			g.Expect(got.Status.Rollout.PrometheusUnavailableSince).To(BeNil())
			g.Expect(got.Status.ProductionVersion).To(Equal("v2"))
		}).Should(Succeed())
		Expect(eventReasons(p)).To(ContainElements("AnalysisPaused", "AnalysisResumed"))
	})

	// A crash right after the product recorded a rollout's end, before any
	// version's reconciler saw it: the product's status is the one record,
	// so the restarted operator neither runs the rollout again nor loses
	// the verdict, and the versions' stages follow it.
	crashAfterRecord := func(phase lifecyclev1alpha1.RolloutPhase, reason, msg string) (*lifecyclev1alpha1.AIProduct, *lifecyclev1alpha1.ModelVersion, *lifecyclev1alpha1.ModelVersion) {
		p := deliveryProduct("", lifecyclev1alpha1.RolloutStep{SetWeight: ptr.To[int32](25)}, analysisStep)
		p.Spec.Delivery.ModelVersion = lifecyclev1alpha1.ModelVersionSelection{Policy: lifecyclev1alpha1.VersionLatestEligible}
		enterDelivery(p)
		mv1 := productionV1(p)
		// The crash comes after v1's own reconciler recorded it as
		// production: the record the restarted operator starts from.
		Eventually(func(g Gomega) { g.Expect(stageOf(g, mv1)).To(Equal(lifecyclev1alpha1.StageProduction)) }).Should(Succeed())
		stopManager()
		running := false
		DeferCleanup(func() {
			if !running {
				startManager(querierInUse)
			}
		})
		mv2 := newVersion(p.Name, "2.0.0", "auc", "0.9")
		mv2.Name = "v2"
		Expect(k8sClient.Create(ctx, mv2)).To(Succeed())
		DeferCleanup(func() { _ = k8sClient.Delete(ctx, mv2) })
		fresh := fetchMV(Default, mv2)
		fresh.Status.Eligible, fresh.Status.Stage = true, lifecyclev1alpha1.StageStaging
		Expect(k8sClient.Status().Update(ctx, fresh)).To(Succeed())
		started := metav1.NewTime(time.Now().Add(-10 * time.Second).Truncate(time.Second))
		ended := metav1.NewTime(time.Now().Truncate(time.Second))
		got := fetch(Default, p)
		got.Status.Rollout = &lifecyclev1alpha1.RolloutStatus{StableVersion: "v1", CanaryVersion: "v2", Phase: phase, Reason: reason,
			Step: 2, StartedAt: &started, StepStartedAt: &started, FinishedAt: &ended, Message: msg}
		if phase == lifecyclev1alpha1.RolloutSucceeded {
			got.Status.Rollout.Weight, got.Status.ProductionVersion = 100, "v2"
		}
		Expect(k8sClient.Status().Update(ctx, got)).To(Succeed())
		startManager(querierInUse)
		running = true
		return p, mv1, mv2
	}

	It("keeps a rejection recorded just before a crash, and the canary's stage follows it", func() {
		p, mv1, mv2 := crashAfterRecord(lifecyclev1alpha1.RolloutAborted, "AnalysisFailed",
			"v2 rolled back: analysis metric error-rate was 0.2, threshold at most 0.01")
		Eventually(func(g Gomega) {
			ds := deployments(g, p)
			got := fetch(g, p)
			g.Expect(got.Status.Rollout.Phase).To(Equal(lifecyclev1alpha1.RolloutAborted))
			g.Expect(got.Status.ProductionVersion).To(Equal("v1"))
			g.Expect(ds).NotTo(HaveKey(p.Name + "-v2"))
			g.Expect(fetchMV(g, mv2).Status.StageReason).To(Equal("v2 rolled back: analysis metric error-rate was 0.2, threshold at most 0.01"))
		}).Should(Succeed())
		Consistently(func(g Gomega) {
			g.Expect(stageOf(g, mv2)).To(Equal(lifecyclev1alpha1.StageRejected))
			g.Expect(stageOf(g, mv1)).To(Equal(lifecyclev1alpha1.StageProduction))
		}, 2*time.Second).Should(Succeed())
		Expect(fakeProm.Count(errorQuery(p, "v2"))).To(BeZero(), "a judged canary is not analysed again")
	})

	It("keeps a promotion recorded just before a crash instead of running it again", func() {
		p, mv1, mv2 := crashAfterRecord(lifecyclev1alpha1.RolloutSucceeded, "Promoted", "v2 promoted: all steps passed")
		Eventually(func(g Gomega) {
			ds := deployments(g, p)
			got := fetch(g, p)
			g.Expect(got.Status.Rollout.Phase).To(Equal(lifecyclev1alpha1.RolloutSucceeded))
			g.Expect(got.Status.ProductionVersion).To(Equal("v2"))
			g.Expect(stageOf(g, mv1)).To(Equal(lifecyclev1alpha1.StageArchived))
			g.Expect(stageOf(g, mv2)).To(Equal(lifecyclev1alpha1.StageProduction))
			g.Expect(ds).To(HaveKey(p.Name + "-v2"))
			g.Expect(ds).NotTo(HaveKey(p.Name + "-v1"))
		}).Should(Succeed())
		Expect(fakeProm.Count(errorQuery(p, "v2"))).To(BeZero(), "a judged canary is not analysed again")
	})

	It("abandons a running rollout for a newer version, which starts from step one", func() {
		p := deliveryProduct("v1", lifecyclev1alpha1.RolloutStep{SetWeight: ptr.To[int32](20)}, lifecyclev1alpha1.RolloutStep{Pause: &lifecyclev1alpha1.PauseStep{}})
		enterDelivery(p)
		productionV1(p)
		v2mv := eligibleVersion(p, "v2", "2.0.0")
		pin(p, "v2")
		Eventually(func(g Gomega) {
			deployments(g, p)
			got := fetch(g, p)
			g.Expect(got.Status.Rollout).NotTo(BeNil())
			g.Expect(got.Status.Rollout.Phase).To(Equal(lifecyclev1alpha1.RolloutPaused))
			g.Expect(got.Status.Rollout.Step).To(Equal(int32(1)))
			g.Expect(stageOf(g, v2mv)).To(Equal(lifecyclev1alpha1.StageStaging))
			// A pause without a duration waits for a person by design:
			// Ready with the pause as its reason, Current to kstatus, so
			// that `flux --wait` does not wait for it.
			ready := condition(got.Status.Conditions, lifecyclev1alpha1.ConditionReady)
			g.Expect(ready.Status).To(Equal(metav1.ConditionTrue))
			g.Expect(ready.Reason).To(Equal(lifecyclev1alpha1.ReasonRolloutPaused))
			g.Expect(kstatusOf(got)).To(Equal(status.CurrentStatus))
		}).Should(Succeed())

		eligibleVersion(p, "v3", "3.0.0")
		pin(p, "v3")
		Eventually(func(g Gomega) {
			ds := deployments(g, p)
			got := fetch(g, p)
			g.Expect(got.Status.Rollout.CanaryVersion).To(Equal("v3"))
			g.Expect(got.Status.Rollout.Phase).To(Equal(lifecyclev1alpha1.RolloutPaused))
			g.Expect(ds).NotTo(HaveKey(p.Name + "-v2"))
			g.Expect(ds).To(HaveKey(p.Name + "-v3"))
			g.Expect(stageOf(g, v2mv)).To(Equal(lifecyclev1alpha1.StageCandidate))
		}).Should(Succeed())
		Eventually(func() []string { return eventReasons(p) }).Should(ContainElement("RolloutAbandoned"))

		By("promoting by hand ends the indefinite pause")
		annotate(p, lifecyclev1alpha1.AnnotationPromote, "now")
		Eventually(func(g Gomega) {
			deployments(g, p)
			got := fetch(g, p)
			g.Expect(got.Status.ProductionVersion).To(Equal("v3"))
			g.Expect(got.Status.LastRequest.Action).To(Equal("Promote"))
		}).Should(Succeed())
	})

	It("never rolls out a pinned version that is not Eligible, and says why", func() {
		p := deliveryProduct("v1")
		dec := lifecyclev1alpha1.Decimal("0.95")
		p.Spec.Delivery.Promotion = &lifecyclev1alpha1.PromotionSpec{Requirements: []lifecyclev1alpha1.MetricRequirement{{Metric: "auc", Min: &dec}}}
		weak := newVersion(p.Name, "1.0.0", "auc", "0.9")
		weak.Name = "v1"
		Expect(k8sClient.Create(ctx, weak)).To(Succeed())
		DeferCleanup(func() { _ = k8sClient.Delete(ctx, weak) })
		enterDelivery(p)
		Eventually(func(g Gomega) {
			got := fetch(g, p)
			g.Expect(got.Status.ProductionVersion).To(BeEmpty())
			ready := condition(got.Status.Conditions, lifecyclev1alpha1.ConditionReady)
			g.Expect(ready.Reason).To(Equal("VersionNotEligible"))
			g.Expect(ready.Message).To(Equal("ModelVersion v1 is not Eligible: auc is 0.9, below the floor 0.95"))
			g.Expect(deployments(g, p)).To(BeEmpty())
		}).Should(Succeed())
	})

	It("splits traffic on an HTTPRoute's backendRefs and keeps one Service per version", func() {
		p := deliveryProduct("v1", lifecyclev1alpha1.RolloutStep{SetWeight: ptr.To[int32](30)}, lifecyclev1alpha1.RolloutStep{Pause: &lifecyclev1alpha1.PauseStep{}})
		p.Spec.Delivery.Rollout.ScaleDownDelay = &metav1.Duration{Duration: 3 * time.Second}
		route := routeFor(p)
		enterDelivery(p)
		eligibleVersion(p, "v1", "1.0.0")

		weights := func(g Gomega) map[string]int32 {
			got := &gatewayv1.HTTPRoute{}
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(route), got)).To(Succeed())
			out := map[string]int32{}
			for _, ref := range got.Spec.Rules[0].BackendRefs {
				out[string(ref.Name)] = *ref.Weight
				g.Expect(*ref.Port).To(Equal(int32(8080)))
			}
			return out
		}
		Eventually(func(g Gomega) {
			deployments(g, p)
			g.Expect(weights(g)).To(Equal(map[string]int32{p.Name + "-v1": 100}))
		}).Should(Succeed())

		eligibleVersion(p, "v2", "2.0.0")
		pin(p, "v2")
		Eventually(func(g Gomega) {
			deployments(g, p)
			g.Expect(weights(g)).To(Equal(map[string]int32{p.Name + "-v1": 70, p.Name + "-v2": 30}))
			g.Expect(fetch(g, p).Status.Rollout).NotTo(BeNil())
			for _, name := range []string{p.Name, p.Name + "-v1", p.Name + "-v2"} {
				g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: "default", Name: name}, &corev1.Service{})).To(Succeed())
			}
			g.Expect(fetch(g, p).Status.Rollout.Phase).To(Equal(lifecyclev1alpha1.RolloutPaused))
		}).Should(Succeed())

		By("the operator owns the route's rules, an atomic list, and nothing else of it")
		live := &gatewayv1.HTTPRoute{}
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(route), live)).To(Succeed())
		Expect(ownedFields(live, apply.FieldOwner)).To(Equal([]string{"spec.rules"}))
		Expect(live.Spec.ParentRefs).To(Equal(route.Spec.ParentRefs))

		annotate(p, lifecyclev1alpha1.AnnotationPromote, "ok")
		By("the route moves to v2 once v2 is available at full size, and v1 keeps serving requests already routed to it")
		Eventually(func(g Gomega) {
			deployments(g, p)
			g.Expect(weights(g)).To(Equal(map[string]int32{p.Name + "-v2": 100}))
			got := fetch(g, p)
			g.Expect(got.Status.ProductionVersion).To(Equal("v2"))
			g.Expect(got.Status.Rollout.Phase).To(Equal(lifecyclev1alpha1.RolloutSucceeded))
			g.Expect(got.Status.Rollout.EffectiveWeight).To(Equal(int32(100)))
			g.Expect(got.Status.Rollout.ScaleDownAt).NotTo(BeNil())
		}).Should(Succeed())
		Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: "default", Name: p.Name + "-v1"}, &corev1.Service{})).To(Succeed())
		By("and goes after the scale-down delay")
		Eventually(func(g Gomega) {
			err := k8sClient.Get(ctx, client.ObjectKey{Namespace: "default", Name: p.Name + "-v1"}, &corev1.Service{})
			g.Expect(apierrors.IsNotFound(err)).To(BeTrue())
			g.Expect(deployments(g, p)).NotTo(HaveKey(p.Name + "-v1"))
		}).Should(Succeed())
	})

	It("scales serving to zero when the product retires, and keeps its versions", func() {
		p := deliveryProduct("v1")
		enterDelivery(p)
		v1mv := eligibleVersion(p, "v1", "1.0.0")
		Eventually(func(g Gomega) {
			g.Expect(deployments(g, p)).To(HaveKey(p.Name + "-v1"))
			g.Expect(fetch(g, p).Status.ProductionVersion).To(Equal("v1"))
		}).Should(Succeed())
		Eventually(func(g Gomega) {
			got := fetch(g, p)
			got.Spec.Phase = lifecyclev1alpha1.PhaseRetired
			g.Expect(k8sClient.Update(ctx, got)).To(Succeed())
		}).Should(Succeed())
		Eventually(func(g Gomega) {
			d := deployments(g, p)[p.Name+"-v1"]
			g.Expect(d).NotTo(BeNil())
			g.Expect(*d.Spec.Replicas).To(Equal(int32(0)))
			got := fetch(g, p)
			g.Expect(got.Status.Phase).To(Equal(lifecyclev1alpha1.PhaseRetired))
			g.Expect(condition(got.Status.Conditions, lifecyclev1alpha1.ConditionServing).Reason).To(Equal("Retired"))
			g.Expect(fetchMV(g, v1mv).Name).To(Equal("v1"))
		}).Should(Succeed())
	})
})
