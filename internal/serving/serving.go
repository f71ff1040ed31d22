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

// Package serving renders the objects that serve a product's model versions:
// one Deployment per live version and one Service over all of them (plus one
// Service per version when a Gateway API route splits traffic). It is pure:
// the controller applies what it renders.
package serving

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"math"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	lifecyclev1alpha1 "github.com/aipm-io/aipm-operator/api/v1alpha1"
)

// Labels and annotations the operator puts on what it creates.
const (
	LabelManagedBy = "app.kubernetes.io/managed-by"
	ManagedBy      = "aipm-operator"
	LabelComponent = "app.kubernetes.io/component"
	ComponentModel = "model-server"
	// AnnotationSpecHash holds a hash of the rendered object, so that an
	// unchanged object costs a comparison, not an API write.
	AnnotationSpecHash = "lifecycle.aipm.io/spec-hash"
)

// Environment variables every serving container receives besides the
// configurable model URI variable.
const (
	EnvProduct = "AIPM_PRODUCT"
	EnvVersion = "AIPM_MODEL_VERSION"
)

// Version is a live model version and the share of replicas it gets.
type Version struct {
	// Name of the ModelVersion object.
	Name string
	// URI of its artifact.
	URI string
	// Replicas it runs.
	Replicas int32
}

// Split divides total replicas between stable and canary for a canary
// weight in percent. The canary gets ceil(total*weight/100) so that any
// weight above zero runs at least one canary pod; the stable keeps at least
// one pod until the weight reaches 100. Traffic through a plain Service then
// follows the ratio of ready pods, approximately.
func Split(total, weight int32) (stable, canary int32) {
	switch {
	case total <= 0:
		return 0, 0
	case weight <= 0:
		return total, 0
	case weight >= 100:
		return 0, total
	}
	canary = int32(math.Ceil(float64(total) * float64(weight) / 100))
	stable = max(total-canary, 1)
	return stable, canary
}

// ObjectName is the name of a version's Deployment (and per-version
// Service): the version's name, prefixed with the product's when it does not
// already start with it, shortened with a hash to fit a DNS label.
func ObjectName(product, version string) string {
	name := version
	if !strings.HasPrefix(version, product+"-") {
		name = product + "-" + version
	}
	return Shorten(name, 63)
}

// Shorten cuts s to max characters, replacing the tail with a hash of the
// whole so that distinct long names stay distinct.
func Shorten(s string, max int) string {
	if len(s) <= max {
		return s
	}
	sum := sha256.Sum256([]byte(s))
	h := hex.EncodeToString(sum[:])[:8]
	return strings.TrimRight(s[:max-9], "-.") + "-" + h
}

// SelectorLabels select every serving pod of a product.
func SelectorLabels(product string) map[string]string {
	return map[string]string{lifecyclev1alpha1.LabelProduct: product, LabelComponent: ComponentModel}
}

// VersionLabels select the serving pods of one version.
func VersionLabels(product, version string) map[string]string {
	l := SelectorLabels(product)
	l[lifecyclev1alpha1.LabelVersion] = Shorten(version, 63)
	return l
}

// Deployment renders the Deployment of one version from the product's
// serving spec. The pod template is the team's; the operator adds the labels
// it selects on and the model's URI.
func Deployment(p *lifecyclev1alpha1.AIProduct, ver Version) *appsv1.Deployment {
	s := p.Spec.Delivery.Serving
	labels := VersionLabels(p.Name, ver.Name)
	tpl := corev1.PodTemplateSpec{}
	if s.Template != nil {
		tpl = *s.Template.DeepCopy()
	}
	if tpl.Labels == nil {
		tpl.Labels = map[string]string{}
	}
	for k, v := range labels {
		tpl.Labels[k] = v
	}
	uriEnv := s.ModelURIEnv
	if uriEnv == "" {
		uriEnv = "MODEL_URI"
	}
	for i := range tpl.Spec.Containers {
		c := &tpl.Spec.Containers[i]
		c.Env = setEnv(c.Env, uriEnv, ver.URI)
		c.Env = setEnv(c.Env, EnvProduct, p.Name)
		c.Env = setEnv(c.Env, EnvVersion, ver.Name)
	}
	replicas := ver.Replicas
	d := &appsv1.Deployment{
		TypeMeta: metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: metav1.ObjectMeta{
			Name:      ObjectName(p.Name, ver.Name),
			Namespace: p.Namespace,
			Labels:    withManagedBy(labels),
		},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: tpl,
		},
	}
	stamp(d, d.Spec)
	return d
}

// Service renders the product's Service, which selects every live version.
func Service(p *lifecyclev1alpha1.AIProduct) *corev1.Service {
	return service(p, p.Name, SelectorLabels(p.Name))
}

// VersionService renders the Service of one version, which an HTTPRoute's
// backendRefs point at.
func VersionService(p *lifecyclev1alpha1.AIProduct, version string) *corev1.Service {
	return service(p, ObjectName(p.Name, version), VersionLabels(p.Name, version))
}

func service(p *lifecyclev1alpha1.AIProduct, name string, selector map[string]string) *corev1.Service {
	port := p.Spec.Delivery.Serving.Port
	if port == 0 {
		port = 8080
	}
	svc := &corev1.Service{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: metav1.ObjectMeta{
			Name:      name,
			Namespace: p.Namespace,
			Labels:    withManagedBy(selector),
		},
		Spec: corev1.ServiceSpec{
			Selector: selector,
			Ports: []corev1.ServicePort{{
				Name: "http", Port: port, TargetPort: intstr.FromInt32(port), Protocol: corev1.ProtocolTCP,
			}},
		},
	}
	stamp(svc, svc.Spec)
	return svc
}

// Available reports whether a Deployment runs its desired replicas of its
// current template, all available.
func Available(d *appsv1.Deployment) bool {
	want := int32(1)
	if d.Spec.Replicas != nil {
		want = *d.Spec.Replicas
	}
	return d.Status.ObservedGeneration >= d.Generation &&
		d.Status.UpdatedReplicas >= want &&
		d.Status.AvailableReplicas >= want
}

func withManagedBy(l map[string]string) map[string]string {
	out := make(map[string]string, len(l)+1)
	for k, v := range l {
		out[k] = v
	}
	out[LabelManagedBy] = ManagedBy
	return out
}

func setEnv(env []corev1.EnvVar, name, value string) []corev1.EnvVar {
	for i := range env {
		if env[i].Name == name {
			env[i] = corev1.EnvVar{Name: name, Value: value}
			return env
		}
	}
	return append(env, corev1.EnvVar{Name: name, Value: value})
}

// stamp records a hash of what was rendered. Comparing hashes rather than
// objects is immune to the defaults the API server fills in.
func stamp(obj metav1.Object, spec any) {
	raw, _ := json.Marshal(struct {
		Labels map[string]string
		Spec   any
	}{obj.GetLabels(), spec})
	sum := sha256.Sum256(raw)
	obj.SetAnnotations(map[string]string{AnnotationSpecHash: hex.EncodeToString(sum[:16])})
}

// Restamp records the hash again after a caller changed what was rendered.
func Restamp(obj metav1.Object, spec any) { stamp(obj, spec) }

// Hash returns the recorded hash of an object.
func Hash(obj metav1.Object) string { return obj.GetAnnotations()[AnnotationSpecHash] }
