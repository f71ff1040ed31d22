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
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	psaapi "k8s.io/pod-security-admission/api"
)

// tri reads an optional bool: unset, false or true.
func tri(b byte) *bool {
	switch b % 3 {
	case 1:
		return ptr(false)
	case 2:
		return ptr(true)
	}
	return nil
}

// fuzzPod builds a Job's pod template from bytes: every security-relevant
// field unset, safe or unsafe.
func fuzzPod(data []byte) corev1.PodTemplateSpec {
	at := func(i int) byte {
		if i < len(data) {
			return data[i]
		}
		return 0
	}
	pod := corev1.PodTemplateSpec{Spec: corev1.PodSpec{
		ServiceAccountName:           []string{"", "default", "trainer", "admin"}[at(0)%4],
		DeprecatedServiceAccount:     []string{"", "", "trainer", "admin"}[at(1)%4],
		HostNetwork:                  at(2)%7 == 1,
		HostPID:                      at(2)%7 == 2,
		AutomountServiceAccountToken: tri(at(3)),
	}}
	if at(4)%2 == 1 {
		psc := &corev1.PodSecurityContext{RunAsNonRoot: tri(at(5))}
		if u := at(6) % 3; u > 0 {
			psc.RunAsUser = ptr(int64(u-1) * 1000) // 0 or 1000
		}
		switch at(7) % 4 {
		case 1:
			psc.SeccompProfile = &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}
		case 2:
			psc.SeccompProfile = &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeUnconfined}
		}
		pod.Spec.SecurityContext = psc
	}
	if at(8)%5 == 1 {
		pod.Spec.Volumes = []corev1.Volume{{Name: "v", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/"}}}}
	}
	for i := range 1 + int(at(9)%3) {
		base := 10 + i*6
		c := corev1.Container{Name: string(rune('a' + i)), Image: "x"}
		if at(base)%2 == 1 {
			sc := &corev1.SecurityContext{
				Privileged:               tri(at(base + 1)),
				AllowPrivilegeEscalation: tri(at(base + 2)),
				ReadOnlyRootFilesystem:   tri(at(base + 3)),
				RunAsNonRoot:             tri(at(base + 4)),
			}
			switch at(base+5) % 4 {
			case 1:
				sc.Capabilities = &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}
			case 2:
				sc.Capabilities = &corev1.Capabilities{Add: []corev1.Capability{"SYS_ADMIN"}}
			case 3:
				sc.Capabilities = &corev1.Capabilities{Drop: []corev1.Capability{"NET_RAW"}, Add: []corev1.Capability{"NET_BIND_SERVICE"}}
			}
			c.SecurityContext = sc
		}
		if i == 2 {
			pod.Spec.InitContainers = append(pod.Spec.InitContainers, c)
		} else {
			pod.Spec.Containers = append(pod.Spec.Containers, c)
		}
	}
	return pod
}

// FuzzJobTemplate checks the retraining Job's gate over templates with
// every combination of security settings: Job and Admit agree; what Job
// creates passes the restricted standard and runs as an allowed account
// with a read-only root; hardening fills in only what the template left
// unset and is the same done twice; the product's template is untouched.
func FuzzJobTemplate(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{3, 0, 1})
	f.Add([]byte{0, 3, 0, 0, 1, 1, 1, 2, 0, 0, 1, 2, 2, 1, 1, 2})
	f.Add([]byte{2, 0, 0, 2, 1, 2, 2, 1, 0, 2, 1, 1, 1, 2, 2, 1, 1, 1, 1, 2, 2, 1, 1, 1, 1, 2, 2, 3})
	f.Fuzz(func(t *testing.T, data []byte) {
		pol := Policy{ServiceAccounts: []string{"default", "trainer"}}
		pod := fuzzPod(data)
		p := productWith(pod)
		before := p.DeepCopy()
		job, err := Job(p, run, pol)
		admit := pol.Admit(&p.Spec.Delivery.Retraining.Template.Spec.Template)
		if (err == nil) != (admit == nil) || (err != nil && err.Error() != admit.Error()) {
			t.Fatalf("Job says %v, Admit says %v", err, admit)
		}
		if !equality.Semantic.DeepEqual(before, p) {
			t.Fatal("rendering changed the product's template")
		}

		hardened := pod.DeepCopy()
		Restrict(&hardened.Spec)
		twice := hardened.DeepCopy()
		Restrict(&twice.Spec)
		if !equality.Semantic.DeepEqual(hardened, twice) {
			t.Fatal("Restrict is not idempotent")
		}
		kept := func(what string, set, got *bool) {
			if set != nil && (got == nil || *got != *set) {
				t.Fatalf("Restrict overrode %s=%v", what, *set)
			}
		}
		kept("automountServiceAccountToken", pod.Spec.AutomountServiceAccountToken, hardened.Spec.AutomountServiceAccountToken)
		if psc := pod.Spec.SecurityContext; psc != nil {
			kept("runAsNonRoot", psc.RunAsNonRoot, hardened.Spec.SecurityContext.RunAsNonRoot)
		}
		for i, c := range append(slices.Clone(pod.Spec.InitContainers), pod.Spec.Containers...) {
			h := append(slices.Clone(hardened.Spec.InitContainers), hardened.Spec.Containers...)[i].SecurityContext
			if sc := c.SecurityContext; sc != nil {
				kept("privileged", sc.Privileged, h.Privileged)
				kept("allowPrivilegeEscalation", sc.AllowPrivilegeEscalation, h.AllowPrivilegeEscalation)
				kept("readOnlyRootFilesystem", sc.ReadOnlyRootFilesystem, h.ReadOnlyRootFilesystem)
			}
		}

		if err != nil {
			return
		}
		out := &job.Spec.Template
		for _, r := range restricted.EvaluatePod(psaapi.LevelVersion{Level: psaapi.LevelRestricted, Version: psaapi.LatestVersion()}, &out.ObjectMeta, &out.Spec) {
			if !r.Allowed {
				t.Fatalf("accepted a pod the restricted standard forbids: %s (%s)", r.ForbiddenReason, r.ForbiddenDetail)
			}
		}
		sa := out.Spec.ServiceAccountName
		if sa == "" {
			sa = out.Spec.DeprecatedServiceAccount
		}
		if sa != "" && !slices.Contains(pol.ServiceAccounts, sa) {
			t.Fatalf("accepted ServiceAccount %q", sa)
		}
		for _, c := range append(slices.Clone(out.Spec.InitContainers), out.Spec.Containers...) {
			if c.SecurityContext == nil || c.SecurityContext.ReadOnlyRootFilesystem == nil || !*c.SecurityContext.ReadOnlyRootFilesystem {
				t.Fatalf("accepted container %s with a writable root", c.Name)
			}
		}
	})
}
