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

// Package policy tests the operator's least privilege as shipped: the RBAC
// in config/rbac (generated from +kubebuilder:rbac markers, plus the
// scaffold's roles) and the manager's pod in config/manager. It holds no
// code of its own. Its tests fail when a change grants a wildcard, any
// access to Secrets, a way to escalate or impersonate, a permission the
// operator's list below does not name, or a manager pod that the restricted
// Pod Security Standard would refuse. Widening a permission on purpose
// means editing that list here, in review, with the reason beside it.
// docs/security.md says what each permission is for.
package policy
