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

package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Role is a role of a product team, as spec.owners names them.
// +kubebuilder:validation:Enum=ProductManager;DataScientist;TechLead;Designer
type Role string

// Roles.
const (
	RoleProductManager Role = "ProductManager"
	RoleDataScientist  Role = "DataScientist"
	RoleTechLead       Role = "TechLead"
	RoleDesigner       Role = "Designer"
)

// Owner is who holds role in owners, "" when nobody does.
func (o Owners) Owner(role Role) string {
	switch role {
	case RoleProductManager:
		return o.ProductManager
	case RoleDataScientist:
		return o.DataScientist
	case RoleTechLead:
		return o.TechLead
	case RoleDesigner:
		return o.Designer
	}
	return ""
}

// Decision is what an approver decided.
// +kubebuilder:validation:Enum=Approve;Reject
type Decision string

// Decisions.
const (
	// DecisionApprove signs the promotion off for the approver's role.
	DecisionApprove Decision = "Approve"
	// DecisionReject aborts the rollout, with the approver's comment.
	DecisionReject Decision = "Reject"
)

// ApprovalSpec is one person's decision on a promotion. It is a record:
// it cannot be edited once made; a person who changes their mind makes
// another Approval, and the newest decision of each role counts.
// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="an approval is a decision on record and cannot be edited; create another to change it"
type ApprovalSpec struct {
	// product is the AIProduct, in the Approval's namespace, whose
	// promotion this decides.
	// +required
	Product LocalObjectName `json:"product"`
	// version is the ModelVersion whose promotion this decides: the
	// canary of the product's rollout.
	// +required
	Version LocalObjectName `json:"version"`
	// role is the role of the product's spec.owners the approver signs as.
	// The API server refuses the Approval unless the requesting user is
	// the one spec.owners names for it (ValidatingAdmissionPolicy
	// aipm-operator-approval-owner, config/admission).
	// +required
	Role Role `json:"role"`
	// decision is Approve or Reject.
	// +required
	Decision Decision `json:"decision"`
	// comment says why; a Reject's comment is the reason the rollout is
	// aborted with.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	Comment string `json:"comment,omitempty"`
	// approver is the user who made the decision. The API server sets it
	// from the requesting user's name (MutatingAdmissionPolicy
	// aipm-operator-approval-approver, config/admission); whatever a
	// client writes is replaced.
	// +optional
	// +kubebuilder:validation:MaxLength=256
	Approver string `json:"approver,omitempty"`
}

// +kubebuilder:object:root=true
// +kubebuilder:resource:shortName=appr,categories=aipm
// +kubebuilder:printcolumn:name="Product",type=string,JSONPath=`.spec.product`
// +kubebuilder:printcolumn:name="Version",type=string,JSONPath=`.spec.version`
// +kubebuilder:printcolumn:name="Role",type=string,JSONPath=`.spec.role`
// +kubebuilder:printcolumn:name="Decision",type=string,JSONPath=`.spec.decision`
// +kubebuilder:printcolumn:name="Approver",type=string,JSONPath=`.spec.approver`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`

// Approval is a person's sign-off, or refusal, of a model version's
// promotion, in one of the roles of its product's team. The person's
// identity is the API server's, not typed in.
type Approval struct {
	metav1.TypeMeta `json:",inline"`

	// metadata is standard object metadata.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the decision.
	// +required
	Spec ApprovalSpec `json:"spec"`
}

// +kubebuilder:object:root=true

// ApprovalList contains a list of Approval.
type ApprovalList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Approval `json:"items"`
}

func init() {
	SchemeBuilder.Register(&Approval{}, &ApprovalList{})
}
