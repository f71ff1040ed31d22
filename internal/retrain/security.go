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
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	psaapi "k8s.io/pod-security-admission/api"
	psapolicy "k8s.io/pod-security-admission/policy"
)

// DefaultServiceAccount is the one ServiceAccount a retraining pod may run
// as when the operator is given no list: the namespace's default, which a
// pod gets when its template names none.
const DefaultServiceAccount = "default"

// Policy is what the cluster's administrator, through the operator's flags,
// lets a retraining Job's pod do. Whoever may create an AIProduct writes the
// Job template, and the operator creates the Job with its own rights, so the
// template must not be able to ask for more than the administrator allows:
// another ServiceAccount's token, or a way out of the container.
type Policy struct {
	// ServiceAccounts are the ServiceAccount names a retraining pod may run
	// as, in the product's namespace. Empty allows only "default".
	ServiceAccounts []string
}

// RefusedError says why a Job template may not run. It is a stall: nothing
// changes until a person changes the template or the operator's flags.
type RefusedError struct {
	// Template names what is refused; "Job template" when empty.
	Template string
	Reasons  []string
}

func (e *RefusedError) Error() string {
	what := e.Template
	if what == "" {
		what = "Job template"
	}
	return "the " + what + " is refused: " + strings.Join(e.Reasons, "; ")
}

// Admit renders the pod of a Job template as Job would and checks it, so
// that a refusal shows in status before any trigger is due.
func (pol Policy) Admit(tpl *corev1.PodTemplateSpec) error {
	pod := tpl.DeepCopy()
	Restrict(&pod.Spec)
	return pol.Check(pod)
}

// Restrict fills in, where the template leaves them unset, the settings of
// the restricted Pod Security Standard and a read-only root filesystem, so
// that a template written without them runs hardened and one that sets the
// opposite is refused by Check. Scratch space belongs in an emptyDir volume.
func Restrict(spec *corev1.PodSpec) {
	if spec.SecurityContext == nil {
		spec.SecurityContext = &corev1.PodSecurityContext{}
	}
	psc := spec.SecurityContext
	if psc.RunAsNonRoot == nil {
		psc.RunAsNonRoot = ptr(true)
	}
	if psc.SeccompProfile == nil {
		psc.SeccompProfile = &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}
	}
	// A trainer reads data and writes a model; it has no business with the
	// API server unless its template says so.
	if spec.AutomountServiceAccountToken == nil {
		spec.AutomountServiceAccountToken = ptr(false)
	}
	for _, cs := range [][]corev1.Container{spec.InitContainers, spec.Containers} {
		for i := range cs {
			c := &cs[i]
			if c.SecurityContext == nil {
				c.SecurityContext = &corev1.SecurityContext{}
			}
			sc := c.SecurityContext
			if sc.AllowPrivilegeEscalation == nil {
				sc.AllowPrivilegeEscalation = ptr(false)
			}
			if sc.ReadOnlyRootFilesystem == nil {
				sc.ReadOnlyRootFilesystem = ptr(true)
			}
			if sc.Capabilities == nil {
				sc.Capabilities = &corev1.Capabilities{}
			}
			if !slices.Contains(sc.Capabilities.Drop, "ALL") {
				sc.Capabilities.Drop = append(sc.Capabilities.Drop, "ALL")
			}
		}
	}
}

// restricted is the Pod Security Admission library's own evaluator, the code
// the API server runs for a namespace labelled enforce=restricted, so this
// check and the cluster's cannot disagree.
var restricted = func() psapolicy.Evaluator {
	e, err := psapolicy.NewEvaluator(psapolicy.DefaultChecks(), nil)
	if err != nil {
		panic(err) // the library's own checks; only a broken build fails here
	}
	return e
}()

// Check returns a RefusedError listing every way the pod breaks the policy,
// the restricted Pod Security Standard (latest version), or a read-only
// root filesystem; nil when it breaks none. It reads the pod as rendered:
// call Restrict first.
func (pol Policy) Check(pod *corev1.PodTemplateSpec) error {
	var why []string
	spec := &pod.Spec

	sa := spec.ServiceAccountName
	if sa == "" {
		// The API server still honours the deprecated field when the new
		// one is empty.
		sa = spec.DeprecatedServiceAccount
	}
	if sa == "" {
		sa = DefaultServiceAccount
	}
	allowed := pol.ServiceAccounts
	if len(allowed) == 0 {
		allowed = []string{DefaultServiceAccount}
	}
	if !slices.Contains(allowed, sa) {
		why = append(why, fmt.Sprintf("serviceAccountName %q is not one the operator allows (--retraining-service-accounts=%s)",
			sa, strings.Join(allowed, ",")))
	}
	if d := spec.DeprecatedServiceAccount; d != "" && spec.ServiceAccountName != "" && d != spec.ServiceAccountName {
		why = append(why, fmt.Sprintf("serviceAccount %q differs from serviceAccountName %q", d, spec.ServiceAccountName))
	}

	for _, r := range restricted.EvaluatePod(psaapi.LevelVersion{Level: psaapi.LevelRestricted, Version: psaapi.LatestVersion()},
		&pod.ObjectMeta, spec) {
		if !r.Allowed {
			why = append(why, r.ForbiddenReason+" ("+r.ForbiddenDetail+")")
		}
	}

	var writable []string
	for _, cs := range [][]corev1.Container{spec.InitContainers, spec.Containers} {
		for _, c := range cs {
			if c.SecurityContext == nil || c.SecurityContext.ReadOnlyRootFilesystem == nil || !*c.SecurityContext.ReadOnlyRootFilesystem {
				writable = append(writable, c.Name)
			}
		}
	}
	if len(writable) > 0 {
		why = append(why, fmt.Sprintf("readOnlyRootFilesystem must be true (containers %s); mount an emptyDir for scratch space",
			strings.Join(writable, ", ")))
	}
	if len(spec.EphemeralContainers) > 0 {
		why = append(why, "a template has no ephemeral containers")
	}
	if len(why) > 0 {
		return &RefusedError{Reasons: why}
	}
	return nil
}

func ptr[T any](v T) *T { return &v }
