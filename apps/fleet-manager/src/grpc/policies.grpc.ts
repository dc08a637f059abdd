// Policies over gRPC: CreatePolicy, ListPolicies, GetPolicy, UpdatePolicy,
// DeletePolicy, CreatePolicyVersion, ListPolicyVersions, GetPolicyVersion.
// Specs travel as google.protobuf.Struct: the JSON object REST carries.
import { Inject, Injectable } from '@nestjs/common';
import type { FleetServiceServer, Policy, PolicyVersion } from '@netmirror/fleet-api';
import {
  parseCreatePolicy,
  parseCreateVersion,
  parseUpdatePolicy,
  toPolicyDto,
  toPolicyVersionDto,
  type PolicyDto,
  type PolicyVersionDto,
} from '../policies/dto/policy.dto.js';
import type { Policy as PolicyRow } from '../policies/policy.entity.js';
import type { PolicyVersion as PolicyVersionRow } from '../policies/policy-version.entity.js';
import { PoliciesService } from '../policies/policies.service.js';
import { unary } from './call.js';
import { opt } from './convert.js';

function policyToProto(p: PolicyDto): Policy {
  return {
    name: p.name,
    domain: p.domain,
    targetLabels: p.targetLabels,
    priority: p.priority,
    latestVersion: p.latestVersion,
    deployedVersion: opt(p.deployedVersion),
    createdAt: p.createdAt,
    updatedAt: p.updatedAt,
  };
}

function versionToProto(v: PolicyVersionDto): PolicyVersion {
  return {
    policy: v.policy,
    version: v.version,
    hash: v.hash,
    spec: v.spec,
    comment: opt(v.comment),
    createdBy: v.createdBy,
    createdAt: v.createdAt,
  };
}

const policy = (p: PolicyRow): Policy => policyToProto(toPolicyDto(p));
const version = (v: PolicyVersionRow): PolicyVersion => versionToProto(toPolicyVersionDto(v));

type PoliciesRpcs = Pick<
  FleetServiceServer,
  | 'createPolicy'
  | 'listPolicies'
  | 'getPolicy'
  | 'updatePolicy'
  | 'deletePolicy'
  | 'createPolicyVersion'
  | 'listPolicyVersions'
  | 'getPolicyVersion'
>;

@Injectable()
export class PoliciesGrpc {
  constructor(@Inject(PoliciesService) private readonly policies: PoliciesService) {}

  handlers(): PoliciesRpcs {
    return {
      createPolicy: unary(async (req, { actor }) => {
        const dto = parseCreatePolicy({
          name: req.name,
          domain: req.domain,
          targetLabels: req.targetLabels,
          priority: req.priority,
          spec: req.spec,
          comment: req.comment,
        });
        return policy(await this.policies.create(dto, actor));
      }),

      listPolicies: unary(async () => ({ items: (await this.policies.list()).map(policy) })),

      getPolicy: unary(async (req) => policy(await this.policies.get(req.name))),

      updatePolicy: unary(async (req, { actor }) => {
        const patch = parseUpdatePolicy({
          targetLabels: req.targetLabels?.labels,
          priority: req.priority,
        });
        return policy(await this.policies.update(req.name, patch, actor));
      }),

      deletePolicy: unary(async (req, { actor }) => {
        await this.policies.remove(req.name, actor);
        return {};
      }),

      createPolicyVersion: unary(async (req, { actor }) => {
        const dto = parseCreateVersion({ spec: req.spec, comment: req.comment });
        return version(await this.policies.addVersion(req.name, dto, actor));
      }),

      listPolicyVersions: unary(async (req) => ({
        items: (await this.policies.listVersions(req.name)).map(version),
      })),

      getPolicyVersion: unary(async (req) =>
        version(await this.policies.getVersion(req.name, req.version)),
      ),
    };
  }
}
