using static InfraRelocation.Core.Gates.GateHelpers;
using static InfraRelocation.RelocationFinding;

namespace InfraRelocation.Core.Gates;

/// <summary>
/// D37, placement policy (capability <c>infra.placement.policy</c>). Runs in every relocation state, including
/// none: VM targets must sit on a canonical Proxmox host of their site with a VMID in that site's range;
/// service to_host must satisfy the service's primary site; rollback targets must be in a DR site. When D35 is
/// not active (no relocation, planning, complete) it also checks that the service registry names the expected
/// host of every service past planned, so that check is never skipped and never reported twice.
/// </summary>
public static class PlacementGate
{
    public static GateResult Evaluate(EstateSnapshot estate, GateOptions? options = null)
    {
        var findings = new List<RelocationFinding>();
        var policyPath = estate.Layout.RelativePath(EstateFile.PlacementPolicy);
        if (estate.Policy is not { } policy)
        {
            findings.Add(Error("D37.PolicyMissing", $"The placement policy {policyPath} does not exist.", null, subject: policyPath));
            return Result(GateIds.Placement, findings, "no placement policy", 0);
        }
        if (estate.Manifest is not { } manifest)
        {
            return Result(GateIds.Placement, findings, "no manifest", 0);
        }
        var guards = policy.Guards;
        var checkedCount = 0;

        foreach (var vm in manifest.VmTargets)
        {
            checkedCount++;
            CheckVmTarget(policy, guards, vm, findings);
        }

        var d35Active = manifest.ActiveRelocation?.State is { } st && ParityGate.ActiveStates.Contains(st);
        foreach (var move in manifest.Services)
        {
            checkedCount++;
            CheckService(policy, guards, move, findings);
            if (!d35Active && ServiceRules.IsPastPlanned(move) && estate.ServiceRegistry is { } registry && ServiceRules.ExpectedHost(move) is { } expected)
            {
                var field = ServiceRules.ExpectedHostField(move);
                var at = move.LocationOf(field);
                if (!registry.Services.TryGetValue(move.Service, out var registered) || ServiceRules.Blank(registered.Host) is null)
                {
                    findings.Add(Error("D37.RegistryHostMissing",
                        $"{move.Service}: the manifest says {field}: {expected} at {at} while the service registry ({registry.File}) gives no host for it.",
                        at, $"services[{move.Index}].{field}", move.Service, registered?.Location ?? registry.Location, expected, null));
                }
                else if (!string.Equals(registered.Host, expected, StringComparison.Ordinal))
                {
                    var rat = registered.LocationOf("host");
                    findings.Add(Error("D37.RegistryHostMismatch",
                        $"{move.Service}: the manifest says {field}: {expected} at {at} while the service registry says {registered.Host} at {rat}.",
                        at, $"services[{move.Index}].{field}", move.Service, rat, expected, registered.Host));
                }
            }
        }
        return Result(GateIds.Placement, findings, $"{manifest.VmTargets.Count} VM target(s), {manifest.Services.Count} service(s)", checkedCount);
    }

    private static void CheckVmTarget(PlacementPolicy policy, PlacementGuards guards, VmTarget vm, List<RelocationFinding> findings)
    {
        var name = vm.Hostname;
        var path = $"vm_targets[{vm.Index}]";
        var hostLoc = vm.LocationOf("hostname");
        if (!policy.Hosts.TryGetValue(name, out var vmHost) || vmHost.Site is null)
        {
            findings.Add(Error("D37.VmHostUnknown",
                $"VM target {name} at {hostLoc} is not a host with a site in the placement policy ({policy.File}).",
                hostLoc, path + ".hostname", name, vmHost?.Location ?? policy.Location));
            return;
        }
        var hv = vm.ProxmoxHost;
        var hvLoc = vm.LocationOf("proxmox_host");
        if (ServiceRules.Blank(hv) is null || !policy.Hosts.TryGetValue(hv!, out var hvHost) || hvHost.Site is null)
        {
            findings.Add(Error("D37.HypervisorNonCanonical",
                $"VM target {name}: proxmox_host: {hv ?? "(none)"} at {hvLoc} is not a canonical host with a site in the placement policy ({policy.File}).",
                hvLoc, path + ".proxmox_host", name, policy.Location, actual: hv));
            return;
        }
        if (!hvHost.IsProxmox)
        {
            findings.Add(Error("D37.HypervisorNotProxmox",
                $"VM target {name}: proxmox_host: {hv} at {hvLoc} while the placement policy says kind: {hvHost.Kind ?? "(none)"} at {hvHost.LocationOf("kind")}.",
                hvLoc, path + ".proxmox_host", name, hvHost.LocationOf("kind"), "proxmox", hvHost.Kind));
        }
        policy.Sites.TryGetValue(hvHost.Site, out var hvSite);
        if (hvSite is null || !hvSite.ProxmoxHosts.Contains(hv!, StringComparer.Ordinal))
        {
            findings.Add(Error("D37.HypervisorNotInSite",
                $"VM target {name}: proxmox_host: {hv} at {hvLoc} has site {hvHost.Site} at {hvHost.LocationOf("site")}, but sites.{hvHost.Site}.proxmox_hosts does not list it{(hvSite is null ? " (no such site)" : $" at {hvSite.LocationOf("proxmox_hosts")}")}.",
                hvLoc, path + ".proxmox_host", name, hvSite?.LocationOf("proxmox_hosts") ?? hvHost.LocationOf("site"), hvHost.Site, null));
        }
        if (guards.EnforceVmSiteMatchesHypervisorSite && !string.Equals(vmHost.Site, hvHost.Site, StringComparison.Ordinal))
        {
            findings.Add(Error("D37.VmSiteMismatch",
                $"VM target {name} is in site {vmHost.Site} at {vmHost.LocationOf("site")} while its proxmox_host {hv} at {hvLoc} is in site {hvHost.Site} at {hvHost.LocationOf("site")}.",
                hvLoc, path + ".proxmox_host", name, vmHost.LocationOf("site"), vmHost.Site, hvHost.Site));
        }
        policy.VmTargetRequirements.TryGetValue(name, out var req);
        if (req is null && guards.RequireExplicitVmTargetRequirements)
        {
            findings.Add(Error("D37.VmRequirementMissing",
                $"VM target {name} at {hostLoc} has no vm_target_requirements entry in {policy.File}, which the guard require_explicit_vm_target_requirements demands.",
                hostLoc, path + ".hostname", name, guards.LocationOf("require_explicit_vm_target_requirements")));
        }
        if (req is not null)
        {
            if (req.RequiredSite is not null && !string.Equals(req.RequiredSite, vmHost.Site, StringComparison.Ordinal))
            {
                findings.Add(Error("D37.VmRequiredSiteMismatch",
                    $"VM target {name} is in site {vmHost.Site} at {vmHost.LocationOf("site")} while vm_target_requirements says required_site: {req.RequiredSite} at {req.LocationOf("required_site")}.",
                    hostLoc, path + ".hostname", name, req.LocationOf("required_site"), req.RequiredSite, vmHost.Site));
            }
            if (req.RequiredProxmoxHost is not null && !string.Equals(req.RequiredProxmoxHost, hv, StringComparison.Ordinal))
            {
                findings.Add(Error("D37.VmRequiredHypervisorMismatch",
                    $"VM target {name}: the manifest says proxmox_host: {hv} at {hvLoc} while vm_target_requirements says required_proxmox_host: {req.RequiredProxmoxHost} at {req.LocationOf("required_proxmox_host")}.",
                    hvLoc, path + ".proxmox_host", name, req.LocationOf("required_proxmox_host"), req.RequiredProxmoxHost, hv));
            }
        }
        if (guards.EnforceVmidRanges)
        {
            var idLoc = vm.LocationOf("vm_id");
            if (hvSite?.VmidMin is not { } min || hvSite.VmidMax is not { } max)
            {
                findings.Add(Error("D37.VmidRangeMissing",
                    $"VM target {name}: site {hvHost.Site} of proxmox_host {hv} declares no integer vmid_min/vmid_max{(hvSite is null ? "" : $" at {hvSite.Location}")}.",
                    idLoc, path + ".vm_id", name, hvSite?.Location));
            }
            else if (vm.VmId is not { } vmid)
            {
                findings.Add(Error("D37.VmidMissing", $"VM target {name} has no numeric vm_id.", idLoc ?? vm.Location, path + ".vm_id", name));
            }
            else if (vmid < min || vmid > max)
            {
                findings.Add(Error("D37.VmidOutOfRange",
                    $"VM target {name}: the manifest says vm_id: {vmid} at {idLoc} while site {hvHost.Site} allows {min}-{max} at {hvSite.LocationOf("vmid_min")}.",
                    idLoc, path + ".vm_id", name, hvSite.LocationOf("vmid_min"), $"{min}-{max}", vmid.ToString(System.Globalization.CultureInfo.InvariantCulture)));
            }
        }
    }

    private static void CheckService(PlacementPolicy policy, PlacementGuards guards, ServiceMove move, List<RelocationFinding> findings)
    {
        var name = move.Service;
        var path = $"services[{move.Index}]";
        policy.ServicePlacement.TryGetValue(name, out var rule);
        if (rule is null && guards.RequireServicePolicyForManifestServices)
        {
            findings.Add(Error("D37.ServicePolicyMissing",
                $"{name} at {move.LocationOf("service")} has no service_placement entry in {policy.File}, which the guard require_service_policy_for_manifest_services demands.",
                move.LocationOf("service"), path + ".service", name, guards.LocationOf("require_service_policy_for_manifest_services")));
            return;
        }
        var toHost = ServiceRules.Blank(move.ToHost);
        var toLoc = move.LocationOf("to_host");
        if (toHost is null || !policy.Hosts.TryGetValue(toHost, out var toPolicy) || toPolicy.Site is null)
        {
            findings.Add(Error("D37.ToHostNonCanonical",
                $"{name}: the manifest says to_host: {toHost ?? "(none)"} at {toLoc} while the placement policy ({policy.File}) has no host with a site by that id.",
                toLoc ?? move.Location, path + ".to_host", name, policy.Location, actual: toHost));
            return;
        }
        if (rule is null)
        {
            return;
        }
        if (guards.EnforceServicePrimarySite)
        {
            if (rule.PrimarySite is null)
            {
                findings.Add(Error("D37.PrimarySiteMissing", $"{name}: service_placement at {rule.Location} declares no primary_site.",
                    toLoc, path + ".to_host", name, rule.Location));
            }
            else if (!string.Equals(rule.PrimarySite, toPolicy.Site, StringComparison.Ordinal))
            {
                findings.Add(Error("D37.PrimarySiteViolation",
                    $"{name}: the manifest says to_host: {toHost} at {toLoc}, which is in site {toPolicy.Site} at {toPolicy.LocationOf("site")}, while the placement policy says primary_site: {rule.PrimarySite} at {rule.LocationOf("primary_site")}.",
                    toLoc, path + ".to_host", name, rule.LocationOf("primary_site"), rule.PrimarySite, toPolicy.Site));
            }
        }
        var rollback = ServiceRules.Blank(move.RollbackTo);
        var rbLoc = move.LocationOf("rollback_to");
        if (rollback is not null)
        {
            if (!policy.Hosts.TryGetValue(rollback, out var rbPolicy) || rbPolicy.Site is null)
            {
                findings.Add(Error("D37.RollbackHostNonCanonical",
                    $"{name}: the manifest says rollback_to: {rollback} at {rbLoc} while the placement policy ({policy.File}) has no host with a site by that id.",
                    rbLoc, path + ".rollback_to", name, policy.Location, actual: rollback));
            }
            else if (rule.DrSites is null || !rule.DrSites.Contains(rbPolicy.Site, StringComparer.Ordinal))
            {
                var dr = rule.DrSites is null || rule.DrSites.Count == 0 ? "no DR site" : "dr_sites: [" + string.Join(", ", rule.DrSites) + "]";
                findings.Add(Error("D37.RollbackSiteViolation",
                    $"{name}: the manifest says rollback_to: {rollback} at {rbLoc}, which is in site {rbPolicy.Site} at {rbPolicy.LocationOf("site")}, while the placement policy allows {dr} at {rule.LocationOf("dr_sites") ?? rule.Location}.",
                    rbLoc, path + ".rollback_to", name, rule.LocationOf("dr_sites") ?? rule.Location,
                    rule.DrSites is null ? null : string.Join(", ", rule.DrSites), rbPolicy.Site));
            }
        }
        else if (move.Status == ServiceStatus.RolledBack)
        {
            findings.Add(Error("D37.RollbackTargetMissing", $"{name} is rolled-back at {move.LocationOf("status")} but has no rollback_to.",
                move.LocationOf("status"), path + ".rollback_to", name));
        }
    }
}
