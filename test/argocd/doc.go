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

// Package argocd tests the Argo CD health checks and resource actions in
// config/argocd/resource_customizations through Argo CD's own code: the
// ConfigMap patch config/argocd/argocd-cm-patch.yaml is read by Argo CD's
// settings manager, health is computed by gitops-engine as the application
// controller computes it, and actions are discovered and run by Argo CD's
// Lua VM as argocd-cm actions run. The cases are health_test.yaml and
// actions/action_test.yaml, in the format of Argo CD's own
// resource_customizations tests.
//
// It is a module of its own, so that the operator's module does not depend
// on Argo CD. Argo CD v3.6 needs Go 1.27: `make test-argocd` runs it with
// GOTOOLCHAIN=go1.27.3, which the go command fetches from the module proxy.
// After changing a script, regenerate the ConfigMap patch with
//
//	cd test/argocd && GOTOOLCHAIN=go1.27.3 go test -run TestConfigMapPatch -update
package argocd
