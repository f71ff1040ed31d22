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

package retrain

import (
	"errors"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	lifecyclev1alpha1 "github.com/aipm-io/aipm-operator/api/v1alpha1"
)

func productWith(pod corev1.PodTemplateSpec) *lifecyclev1alpha1.AIProduct {
	return &lifecyclev1alpha1.AIProduct{ObjectMeta: metav1.ObjectMeta{Name: "churn", Namespace: "ml"},
		Spec: lifecyclev1alpha1.AIProductSpec{Delivery: &lifecyclev1alpha1.DeliverySpec{Retraining: &lifecyclev1alpha1.RetrainingSpec{
			Template: &batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Template: pod}},
		}}}}
}

func trainer() corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "train", Image: "train:1"}}}}
}

var run = Run{Name: "churn-manual-1", Trigger: Trigger{Kind: lifecyclev1alpha1.TriggerManual, Key: "1"}, TargetVersion: "0.1.0"}

// TestJobIsRestricted: a template that says nothing about security runs as
// the restricted Pod Security Standard requires, with a read-only root
// filesystem and no API token.
func TestJobIsRestricted(t *testing.T) {
	pod := trainer()
	pod.Spec.InitContainers = []corev1.Container{{Name: "fetch", Image: "fetch:1"}}
	job, err := Job(productWith(pod), run, Policy{})
	if err != nil {
		t.Fatal(err)
	}
	spec := job.Spec.Template.Spec
	psc := spec.SecurityContext
	if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot ||
		psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Fatalf("pod security context %+v", psc)
	}
	if spec.AutomountServiceAccountToken == nil || *spec.AutomountServiceAccountToken {
		t.Error("the pod mounts an API token it did not ask for")
	}
	for _, c := range append(spec.InitContainers, spec.Containers...) {
		sc := c.SecurityContext
		if sc == nil || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
			sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
			sc.Capabilities == nil || len(sc.Capabilities.Drop) != 1 || sc.Capabilities.Drop[0] != "ALL" {
			t.Errorf("container %s security context %+v", c.Name, sc)
		}
	}
	if err := (Policy{}).Check(&job.Spec.Template); err != nil {
		t.Errorf("the rendered pod fails its own check: %v", err)
	}
}

// TestJobKeepsWhatTheTemplateSays: explicit, compliant settings stay.
func TestJobKeepsWhatTheTemplateSays(t *testing.T) {
	pod := trainer()
	uid := int64(1000)
	pod.Spec.SecurityContext = &corev1.PodSecurityContext{RunAsUser: &uid,
		SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeLocalhost, LocalhostProfile: ptr("trainer.json")}}
	pod.Spec.AutomountServiceAccountToken = ptr(true)
	pod.Spec.ServiceAccountName = "trainer"
	pod.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{
		Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}, Add: []corev1.Capability{"NET_BIND_SERVICE"}}}
	pod.Spec.Volumes = []corev1.Volume{{Name: "scratch", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}
	job, err := Job(productWith(pod), run, Policy{ServiceAccounts: []string{"default", "trainer"}})
	if err != nil {
		t.Fatal(err)
	}
	spec := job.Spec.Template.Spec
	if *spec.SecurityContext.RunAsUser != 1000 || spec.SecurityContext.SeccompProfile.Type != corev1.SeccompProfileTypeLocalhost ||
		!*spec.AutomountServiceAccountToken || spec.ServiceAccountName != "trainer" {
		t.Errorf("explicit settings changed: %+v", spec)
	}
	if caps := spec.Containers[0].SecurityContext.Capabilities; len(caps.Drop) != 1 || len(caps.Add) != 1 {
		t.Errorf("capabilities %+v", caps)
	}
}

func TestJobRefuses(t *testing.T) {
	root, yes, no := int64(0), true, false
	unmasked := corev1.UnmaskedProcMount
	tests := []struct {
		name   string
		policy Policy
		edit   func(*corev1.PodTemplateSpec)
		want   string
	}{
		{"a ServiceAccount not on the list", Policy{}, func(p *corev1.PodTemplateSpec) { p.Spec.ServiceAccountName = "cluster-admin-sa" },
			`serviceAccountName "cluster-admin-sa" is not one the operator allows`},
		{"a ServiceAccount not on a given list", Policy{ServiceAccounts: []string{"trainer"}}, func(*corev1.PodTemplateSpec) {},
			`serviceAccountName "default" is not one the operator allows (--retraining-service-accounts=trainer)`},
		{"the deprecated serviceAccount field", Policy{}, func(p *corev1.PodTemplateSpec) { p.Spec.DeprecatedServiceAccount = "admin" },
			`serviceAccountName "admin"`},
		{"a privileged container", Policy{}, func(p *corev1.PodTemplateSpec) {
			p.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{Privileged: &yes}
		}, "privileged"},
		{"privilege escalation", Policy{}, func(p *corev1.PodTemplateSpec) {
			p.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{AllowPrivilegeEscalation: &yes}
		}, "allowPrivilegeEscalation=false"},
		{"a writable root filesystem", Policy{}, func(p *corev1.PodTemplateSpec) {
			p.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{ReadOnlyRootFilesystem: &no}
		}, "readOnlyRootFilesystem must be true (containers train)"},
		{"root", Policy{}, func(p *corev1.PodTemplateSpec) {
			p.Spec.SecurityContext = &corev1.PodSecurityContext{RunAsUser: &root}
		}, "runAsUser=0"},
		{"runAsNonRoot false", Policy{}, func(p *corev1.PodTemplateSpec) {
			p.Spec.SecurityContext = &corev1.PodSecurityContext{RunAsNonRoot: &no}
		}, "runAsNonRoot"},
		{"an added capability", Policy{}, func(p *corev1.PodTemplateSpec) {
			p.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{Capabilities: &corev1.Capabilities{Add: []corev1.Capability{"SYS_ADMIN"}}}
		}, "SYS_ADMIN"},
		{"seccomp Unconfined", Policy{}, func(p *corev1.PodTemplateSpec) {
			p.Spec.SecurityContext = &corev1.PodSecurityContext{SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeUnconfined}}
		}, "Unconfined"},
		{"host network", Policy{}, func(p *corev1.PodTemplateSpec) { p.Spec.HostNetwork = true }, "hostNetwork=true"},
		{"host PID", Policy{}, func(p *corev1.PodTemplateSpec) { p.Spec.HostPID = true }, "hostPID=true"},
		{"a hostPath volume", Policy{}, func(p *corev1.PodTemplateSpec) {
			p.Spec.Volumes = []corev1.Volume{{Name: "node", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/"}}}}
		}, "hostPath"},
		{"a host port", Policy{}, func(p *corev1.PodTemplateSpec) {
			p.Spec.Containers[0].Ports = []corev1.ContainerPort{{ContainerPort: 80, HostPort: 80}}
		}, "hostPort"},
		{"an unmasked /proc", Policy{}, func(p *corev1.PodTemplateSpec) {
			p.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{ProcMount: &unmasked}
		}, "procMount"},
		{"an unsafe sysctl", Policy{}, func(p *corev1.PodTemplateSpec) {
			p.Spec.SecurityContext = &corev1.PodSecurityContext{Sysctls: []corev1.Sysctl{{Name: "kernel.msgmax", Value: "1"}}}
		}, "kernel.msgmax"},
		{"an SELinux user", Policy{}, func(p *corev1.PodTemplateSpec) {
			p.Spec.SecurityContext = &corev1.PodSecurityContext{SELinuxOptions: &corev1.SELinuxOptions{User: "system_u"}}
		}, "seLinuxOptions"},
		{"AppArmor unconfined", Policy{}, func(p *corev1.PodTemplateSpec) {
			p.Spec.SecurityContext = &corev1.PodSecurityContext{AppArmorProfile: &corev1.AppArmorProfile{Type: corev1.AppArmorProfileTypeUnconfined}}
		}, "AppArmor"},
		{"a privileged init container", Policy{}, func(p *corev1.PodTemplateSpec) {
			p.Spec.InitContainers = []corev1.Container{{Name: "setup", Image: "x", SecurityContext: &corev1.SecurityContext{Privileged: &yes}}}
		}, `container "setup"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pod := trainer()
			tt.edit(&pod)
			p := productWith(pod)
			job, err := Job(p, run, tt.policy)
			var refused *RefusedError
			if !errors.As(err, &refused) || job != nil {
				t.Fatalf("Job = %v, %v; want a refusal", job, err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("refusal %q does not say %q", err, tt.want)
			}
			if admit := tt.policy.Admit(&p.Spec.Delivery.Retraining.Template.Spec.Template); admit == nil || admit.Error() != err.Error() {
				t.Fatalf("Admit = %v, Job = %v; they must agree", admit, err)
			}
		})
	}
}

// TestRefusalListsEverything: a person fixes a template once, not once per
// reason.
func TestRefusalListsEverything(t *testing.T) {
	yes := true
	pod := trainer()
	pod.Spec.ServiceAccountName = "admin"
	pod.Spec.HostNetwork = true
	pod.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{Privileged: &yes}
	err := Policy{}.Admit(&pod)
	var refused *RefusedError
	if !errors.As(err, &refused) || len(refused.Reasons) < 3 {
		t.Fatalf("refusal %v; want the ServiceAccount, host network and privileged all named", err)
	}
}
