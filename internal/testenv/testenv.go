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
// Package testenv is the control plane the operator's envtest suites run
// against: envtest's kube-apiserver and etcd, from bin/ (make
// control-plane) unless KUBEBUILDER_ASSETS names others, with the
// operator's CRDs. Only tests import it.
package testenv

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	k8sruntime "k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	lifecyclev1alpha1 "github.com/aipm-io/aipm-operator/api/v1alpha1"
	"github.com/aipm-io/aipm-operator/internal/backend"
)

// KubeVersion is the version of the control-plane binaries make builds.
const KubeVersion = "v1.37.2"

// Root is the repository's root directory.
func Root() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// Environment is an envtest environment with the operator's CRDs and any
// extra CRD files or directories.
func Environment(extraCRDs ...string) *envtest.Environment {
	env := &envtest.Environment{
		CRDDirectoryPaths:     append([]string{filepath.Join(Root(), "config", "crd", "bases")}, extraCRDs...),
		ErrorIfCRDPathMissing: true,
	}
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		env.BinaryAssetsDirectory = filepath.Join(Root(), "bin", "k8s", KubeVersion)
	}
	return env
}

// KServeVersion is the KServe release whose CRDs the tests install.
const KServeVersion = "v0.17.0"

// KServeCRD is the path of KServe's InferenceService CRD as its release
// ships it, from the KServe Go module fetched through the module proxy
// (cached in the module cache like any dependency; KServe is no build
// dependency of the operator).
func KServeCRD() (string, error) {
	dir, err := ModuleDir("github.com/kserve/kserve", KServeVersion)
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "config", "crd", "full", "serving.kserve.io_inferenceservices.yaml"), nil
}

// Engine versions: the training engines whose CRDs the tests install, the
// versions the operator's go.mod takes their API types from.
const (
	TrainerVersion = "v2.0.0"
	JobSetVersion  = "v0.8.2"
	KubeRayVersion = "v1.5.0"
)

// EngineCRDs are the CRD files of the training engines as their modules
// ship them: Kubeflow Trainer's TrainJob and runtimes, JobSet, and
// KubeRay's RayJob (with RayCluster, which a RayJob embeds). ray false
// leaves KubeRay's out, for a suite that installs them later.
func EngineCRDs(ray bool) ([]string, error) {
	trainer, err := ModuleDir("github.com/kubeflow/trainer/v2", TrainerVersion)
	if err != nil {
		return nil, err
	}
	jobset, err := ModuleDir("sigs.k8s.io/jobset", JobSetVersion)
	if err != nil {
		return nil, err
	}
	out := []string{
		filepath.Join(trainer, "manifests", "base", "crds"),
		filepath.Join(jobset, "config", "components", "crd", "bases"),
	}
	if ray {
		crds, err := RayCRDs()
		if err != nil {
			return nil, err
		}
		out = append(out, crds...)
	}
	return out, nil
}

// RayCRDs are KubeRay's RayJob and RayCluster CRDs.
func RayCRDs() ([]string, error) {
	ray, err := ModuleDir("github.com/ray-project/kuberay/ray-operator", KubeRayVersion)
	if err != nil {
		return nil, err
	}
	base := filepath.Join(ray, "config", "crd", "bases")
	return []string{filepath.Join(base, "ray.io_rayjobs.yaml"), filepath.Join(base, "ray.io_rayclusters.yaml")}, nil
}

// ModuleDir downloads module at version into the module cache, outside
// this module's go.mod, and returns its directory.
func ModuleDir(module, version string) (string, error) {
	cmd := exec.Command("go", "mod", "download", "-json", module+"@"+version)
	// Outside any module, so that go.mod is neither read nor changed.
	cmd.Dir = os.TempDir()
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GO111MODULE=on")
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go mod download %s@%s: %w", module, version, err)
	}
	var m struct{ Dir, Error string }
	if err := json.Unmarshal(out, &m); err != nil {
		return "", err
	}
	if m.Error != "" {
		return "", fmt.Errorf("go mod download %s@%s: %s", module, version, m.Error)
	}
	return m.Dir, nil
}

// Scheme holds the built-in kinds and the operator's.
func Scheme() (*k8sruntime.Scheme, error) {
	s := k8sruntime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		return nil, err
	}
	if err := lifecyclev1alpha1.AddToScheme(s); err != nil {
		return nil, err
	}
	if err := backend.AddToScheme(s); err != nil {
		return nil, err
	}
	return s, nil
}

// StartHint is what a failed start should tell the person running the
// tests.
const StartHint = "run `make test`, which builds the control-plane binaries into bin/"

// ApplyAdmissionPolicies creates the admission policies of config/admission
// on the control plane c talks to, as `make install` does, so that the API
// server stamps and checks Approvals as it does in a cluster, and returns
// once it does.
func ApplyAdmissionPolicies(ctx context.Context, c client.Client) error {
	if err := createAdmissionPolicies(ctx, c); err != nil {
		return err
	}
	return awaitAdmissionPolicies(ctx, c)
}

func createAdmissionPolicies(ctx context.Context, c client.Client) error {
	raw, err := os.ReadFile(filepath.Join(Root(), "config", "admission", "approval_policies.yaml"))
	if err != nil {
		return err
	}
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(raw), 4096)
	for {
		u := &unstructured.Unstructured{}
		if err := dec.Decode(&u.Object); err == io.EOF {
			return nil
		} else if err != nil {
			return err
		}
		if len(u.Object) == 0 {
			continue
		}
		if err := c.Create(ctx, u); err != nil {
			return fmt.Errorf("creating %s %s: %w", u.GetKind(), u.GetName(), err)
		}
	}
}

// awaitAdmissionPolicies waits until the API server applies the Approval
// policies. Both load in the background, and the mutating one answers 503
// ("Resource kind ... not found") until the API server has loaded the
// Approval CRD's schema for it, seconds after the CRD is established on a
// loaded machine. The probe is a dry-run Approval by c's own user for a
// product of a namespace of its own that names that user its TechLead: the
// API server admits it, with spec.approver stamped, only once both
// policies are in force.
func awaitAdmissionPolicies(ctx context.Context, c client.Client) error {
	review := &authenticationv1.SelfSubjectReview{}
	if err := c.Create(ctx, review); err != nil {
		return err
	}
	user := review.Status.UserInfo.Username
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "aipm-admission-probe"}}
	if err := c.Create(ctx, ns); err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	product := &lifecyclev1alpha1.AIProduct{
		ObjectMeta: metav1.ObjectMeta{Name: "probe", Namespace: ns.Name},
		Spec: lifecyclev1alpha1.AIProductSpec{Phase: lifecyclev1alpha1.PhaseStrategy,
			Owners: lifecyclev1alpha1.Owners{ProductManager: user, DataScientist: user, TechLead: user}},
	}
	if err := c.Create(ctx, product); err != nil {
		return fmt.Errorf("creating the admission probe's AIProduct: %w", err)
	}
	defer func() { _ = c.Delete(context.WithoutCancel(ctx), product) }()

	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for {
		probe := &lifecyclev1alpha1.Approval{
			ObjectMeta: metav1.ObjectMeta{GenerateName: "probe-", Namespace: ns.Name},
			Spec: lifecyclev1alpha1.ApprovalSpec{Product: "probe", Version: "probe",
				Role: lifecyclev1alpha1.RoleTechLead, Decision: lifecyclev1alpha1.DecisionApprove, Approver: "someone-else"},
		}
		err := c.Create(ctx, probe, client.DryRunAll)
		if err == nil && probe.Spec.Approver == user {
			return nil
		}
		if err == nil {
			err = fmt.Errorf("admitted with spec.approver %q, not stamped with %q", probe.Spec.Approver, user)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the API server never enforced the Approval policies: %w", err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// ServeWebhooks makes env install the operator's ValidatingWebhookConfiguration
// (config/webhook), pointed at a local server the test starts with the
// options env.WebhookInstallOptions holds once env has started.
func ServeWebhooks(env *envtest.Environment) {
	env.WebhookInstallOptions.Paths = []string{filepath.Join(Root(), "config", "webhook")}
}
