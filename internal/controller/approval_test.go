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

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	lifecyclev1alpha1 "github.com/aipm-io/aipm-operator/api/v1alpha1"
)

// person is a client that authenticates as user, allowed what
// config/rbac's approval-approver-role allows in the default namespace.
func person(user string) client.Client {
	GinkgoHelper()
	u, err := testEnv.AddUser(envtest.User{Name: user, Groups: []string{"system:authenticated"}}, nil)
	Expect(err).NotTo(HaveOccurred())
	c, err := client.New(u.Config(), client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())
	return c
}

func approval(p *lifecyclev1alpha1.AIProduct, version string, role lifecyclev1alpha1.Role, decision lifecyclev1alpha1.Decision,
	comment string) *lifecyclev1alpha1.Approval {
	return &lifecyclev1alpha1.Approval{
		ObjectMeta: metav1.ObjectMeta{GenerateName: p.Name + "-", Namespace: p.Namespace},
		Spec: lifecyclev1alpha1.ApprovalSpec{Product: lifecyclev1alpha1.LocalObjectName(p.Name), Version: lifecyclev1alpha1.LocalObjectName(version),
			Role: role, Decision: decision, Comment: comment},
	}
}

var _ = Describe("Approvals with identity", Ordered, func() {
	var pm, tl, eve client.Client
	BeforeAll(func() {
		role := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "approval-approver"}, Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{lifecyclev1alpha1.GroupVersion.Group}, Resources: []string{"approvals"}, Verbs: []string{"create", "get", "list", "watch", "update", "patch"}}}}
		Expect(k8sClient.Create(ctx, role)).To(Succeed())
		DeferCleanup(k8sClient.Delete, ctx, role)
		binding := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "approvers", Namespace: "default"},
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name},
			Subjects: []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: "Group", Name: "system:authenticated"}}}
		Expect(k8sClient.Create(ctx, binding)).To(Succeed())
		DeferCleanup(k8sClient.Delete, ctx, binding)
		pm, tl, eve = person("pm@example.com"), person("tl@example.com"), person("eve@example.com")
	})

	// signedOff is a product whose promotions need its product manager and
	// its tech lead, with one step before the sign-off.
	signedOff := func() *lifecyclev1alpha1.AIProduct {
		p := deliveryProduct("v1", lifecyclev1alpha1.RolloutStep{SetWeight: ptr.To[int32](50)})
		p.Spec.Owners = lifecyclev1alpha1.Owners{ProductManager: "pm@example.com", TechLead: "tl@example.com", DataScientist: "ds@example.com"}
		p.Spec.Delivery.Promotion = &lifecyclev1alpha1.PromotionSpec{Approvals: []lifecyclev1alpha1.Role{
			lifecyclev1alpha1.RoleProductManager, lifecyclev1alpha1.RoleTechLead}}
		return p
	}
	awaiting := func(p *lifecyclev1alpha1.AIProduct, who string) {
		GinkgoHelper()
		Eventually(func(g Gomega) {
			deployments(g, p)
			got := fetch(g, p)
			g.Expect(got.Status.Rollout).NotTo(BeNil())
			g.Expect(got.Status.Rollout.Phase).To(Equal(lifecyclev1alpha1.RolloutPaused))
			ready := condition(got.Status.Conditions, lifecyclev1alpha1.ConditionReady)
			g.Expect(ready.Reason).To(Equal("AwaitingApproval"))
			g.Expect(ready.Message).To(Equal("v2 passed every step; waiting for approval by " + who))
			g.Expect(got.Status.ProductionVersion).To(Equal("v1"))
		}).Should(Succeed())
	}

	It("waits for the roles it needs, refuses anyone else, stamps who approved, and promotes once both signed", func() {
		p := signedOff()
		enterDelivery(p)
		productionV1(p)
		eligibleVersion(p, "v2", "2.0.0")
		pin(p, "v2")
		awaiting(p, "ProductManager (pm@example.com) and TechLead (tl@example.com)")
		Eventually(func() []string { return eventReasons(p) }).Should(ContainElement("AwaitingApproval"))

		By("someone who is not the tech lead")
		err := eve.Create(ctx, approval(p, "v2", lifecyclev1alpha1.RoleTechLead, lifecyclev1alpha1.DecisionApprove, ""))
		Expect(err).To(MatchError(ContainSubstring(fmt.Sprintf(
			"user eve@example.com is not the TechLead of AIProduct %s, tl@example.com is: only they can approve as TechLead", p.Name))))

		By("the product manager, claiming to be someone else")
		a := approval(p, "v2", lifecyclev1alpha1.RoleProductManager, lifecyclev1alpha1.DecisionApprove, "ships the Q4 goal")
		a.Spec.Approver = "ceo@example.com"
		Expect(pm.Create(ctx, a)).To(Succeed())
		Expect(a.Spec.Approver).To(Equal("pm@example.com"), "the API server names the approver, not the client")
		awaiting(p, "TechLead (tl@example.com)")

		By("an edit of a decision on record")
		a.Spec.Decision = lifecyclev1alpha1.DecisionReject
		Expect(pm.Update(ctx, a)).To(MatchError(ContainSubstring("an approval is a decision on record and cannot be edited")))

		By("the tech lead")
		Expect(tl.Create(ctx, approval(p, "v2", lifecyclev1alpha1.RoleTechLead, lifecyclev1alpha1.DecisionApprove, "capacity checked"))).To(Succeed())
		Eventually(func(g Gomega) {
			deployments(g, p)
			got := fetch(g, p)
			g.Expect(got.Status.ProductionVersion).To(Equal("v2"))
			g.Expect(got.Status.Rollout.Phase).To(Equal(lifecyclev1alpha1.RolloutSucceeded))
			g.Expect(got.Status.Rollout.Approvals).To(ConsistOf(
				And(HaveField("Role", lifecyclev1alpha1.RoleProductManager), HaveField("Approver", "pm@example.com"),
					HaveField("Decision", lifecyclev1alpha1.DecisionApprove), HaveField("Comment", "ships the Q4 goal"),
					HaveField("Time", Not(BeZero()))),
				And(HaveField("Role", lifecyclev1alpha1.RoleTechLead), HaveField("Approver", "tl@example.com"),
					HaveField("Decision", lifecyclev1alpha1.DecisionApprove)),
			))
		}).Should(Succeed())
	})

	It("aborts the rollout on a rejection, with the approver's comment", func() {
		p := signedOff()
		enterDelivery(p)
		productionV1(p)
		v2 := eligibleVersion(p, "v2", "2.0.0")
		pin(p, "v2")
		awaiting(p, "ProductManager (pm@example.com) and TechLead (tl@example.com)")
		Expect(tl.Create(ctx, approval(p, "v2", lifecyclev1alpha1.RoleTechLead, lifecyclev1alpha1.DecisionReject,
			"p99 latency doubles at peak"))).To(Succeed())
		Eventually(func(g Gomega) {
			deployments(g, p)
			got := fetch(g, p)
			g.Expect(got.Status.Rollout.Phase).To(Equal(lifecyclev1alpha1.RolloutAborted))
			g.Expect(got.Status.Rollout.Reason).To(Equal("ApprovalRejected"))
			g.Expect(got.Status.ProductionVersion).To(Equal("v1"))
			g.Expect(fetchMV(g, v2).Status.StageReason).To(Equal(
				"v2 rolled back: rejected by tl@example.com (TechLead): p99 latency doubles at peak"))
		}).Should(Succeed())
	})

	It("refuses an approval for a role the product names nobody for", func() {
		p := signedOff()
		Expect(k8sClient.Create(ctx, p)).To(Succeed())
		DeferCleanup(k8sClient.Delete, ctx, p)
		// The API server's policy reads products through its own informer,
		// which sees a product created a moment ago a moment later.
		Eventually(func() error {
			return eve.Create(ctx, approval(p, "v2", lifecyclev1alpha1.RoleDesigner, lifecyclev1alpha1.DecisionApprove, ""))
		}).Should(MatchError(ContainSubstring(fmt.Sprintf("AIProduct %s names no Designer in spec.owners, so nobody can approve as one", p.Name))))
	})
})
