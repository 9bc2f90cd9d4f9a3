using InfraRelocation.Model;

namespace InfraRelocation.Core.Estate;

/// <summary>
/// Cross-file schema checks (<c>SCHEMA.*</c>): references that point nowhere and <c>required_updates</c>
/// paths that escape the estate root or do not exist. Per-file checks (types, enums, required fields,
/// duplicates) are made by the readers while loading. Only files that were loaded are compared.
/// </summary>
public static class EstateValidator
{
    public static IReadOnlyList<RelocationFinding> Validate(EstateSnapshot estate)
    {
        ArgumentNullException.ThrowIfNull(estate);
        var findings = new List<RelocationFinding>();
        var manifest = estate.Manifest;
        var policy = estate.Policy;

        if (manifest is not null && policy is not null)
        {
            foreach (var vm in manifest.VmTargets)
            {
                var path = $"vm_targets[{vm.Index}]";
                if (vm.ProxmoxHost is { } pve && !(policy.Hosts.TryGetValue(pve, out var host) && host.IsProxmox))
                {
                    findings.Add(Dangling("SCHEMA.UnknownProxmoxHost", vm, "proxmox_host", path, vm.Hostname,
                        policy.Hosts.ContainsKey(pve)
                            ? $"VM target '{vm.Hostname}' names proxmox_host '{pve}', which {policy.File} does not declare with kind: proxmox."
                            : $"VM target '{vm.Hostname}' names proxmox_host '{pve}', which is not a host in {policy.File}.",
                        pve, policy.Hosts.GetValueOrDefault(pve)?.Location));
                }
            }
            foreach (var s in manifest.Services)
            {
                var path = $"services[{s.Index}]";
                CheckHost(s, "to_host", s.ToHost, FindingSeverity.Error);
                CheckHost(s, "rollback_to", s.RollbackTo, FindingSeverity.Error);
                // The old host may already be gone from the policy: worth a look, not a failure.
                CheckHost(s, "from_host", s.FromHost, FindingSeverity.Warning);

                void CheckHost(ServiceMove move, string field, string? value, FindingSeverity severity)
                {
                    if (value is not null && !policy.Hosts.ContainsKey(value))
                    {
                        findings.Add(Dangling("SCHEMA.UnknownHost", move, field, path, move.Service,
                            $"Service '{move.Service}' has {field} '{value}', which is not a host in {policy.File}.", value, null, severity));
                    }
                }
            }
        }

        if (manifest is not null && estate.Profiles is { } profiles)
        {
            foreach (var vm in manifest.VmTargets)
            {
                if (vm.Profile is { } profile && !profiles.Profiles.ContainsKey(profile))
                {
                    findings.Add(Dangling("SCHEMA.UnknownProfile", vm, "profile", $"vm_targets[{vm.Index}]", vm.Hostname,
                        $"VM target '{vm.Hostname}' uses profile '{profile}', which {profiles.File} does not define " +
                        $"(known: {string.Join(", ", profiles.Profiles.Keys)}).", profile, null));
                }
            }
        }

        if (policy is not null)
        {
            ValidatePolicy(policy, findings);
        }

        if (estate.ServiceRegistry is { } registry && estate.SshTargets is { } ssh)
        {
            var ids = ssh.Targets.Select(t => t.Id).ToHashSet(StringComparer.Ordinal);
            foreach (var host in registry.Hosts.Values)
            {
                if (host.Ssh is { } target && !ids.Contains(target))
                {
                    findings.Add(Dangling("SCHEMA.UnknownSshTarget", host, "ssh", $"hosts.{host.Id}", host.Id,
                        $"Host '{host.Id}' in {registry.File} names ssh target '{target}', which {ssh.File} does not define.", target, null));
                }
            }
        }

        if (manifest is not null)
        {
            ValidateRequiredUpdates(estate.Layout, manifest, findings);
        }
        return findings;
    }

    private static void ValidatePolicy(PlacementPolicy policy, List<RelocationFinding> findings)
    {
        foreach (var site in policy.Sites.Values)
        {
            foreach (var pve in site.ProxmoxHosts)
            {
                if (!policy.Hosts.ContainsKey(pve))
                {
                    findings.Add(Dangling("SCHEMA.UnknownHost", site, "proxmox_hosts", $"sites.{site.Id}", pve,
                        $"Site '{site.Id}' lists proxmox host '{pve}', which is not in hosts.", pve, null));
                }
            }
            if (site.VmidMin is { } min && site.VmidMax is { } max && min > max)
            {
                findings.Add(RelocationFinding.Error("SCHEMA.InvalidRange", $"Site '{site.Id}' has vmid_min {min} greater than vmid_max {max}.",
                    site.LocationOf("vmid_min"), $"sites.{site.Id}.vmid_min", site.Id));
            }
        }
        foreach (var host in policy.Hosts.Values)
        {
            CheckSite(host, "site", host.Site, $"hosts.{host.Id}", host.Id);
        }
        foreach (var req in policy.VmTargetRequirements.Values)
        {
            CheckSite(req, "required_site", req.RequiredSite, $"vm_target_requirements.{req.Hostname}", req.Hostname);
            if (req.RequiredProxmoxHost is { } pve && !policy.Hosts.ContainsKey(pve))
            {
                findings.Add(Dangling("SCHEMA.UnknownHost", req, "required_proxmox_host", $"vm_target_requirements.{req.Hostname}",
                    req.Hostname, $"vm_target_requirements.{req.Hostname}.required_proxmox_host '{pve}' is not in hosts.", pve, null));
            }
        }
        foreach (var rule in policy.ServicePlacement.Values)
        {
            CheckSite(rule, "primary_site", rule.PrimarySite, $"service_placement.{rule.Service}", rule.Service);
            foreach (var dr in rule.DrSites ?? [])
            {
                CheckSite(rule, "dr_sites", dr, $"service_placement.{rule.Service}", rule.Service);
            }
        }

        void CheckSite(ModelEntry entry, string field, string? site, string path, string subject)
        {
            if (site is not null && !policy.Sites.ContainsKey(site))
            {
                findings.Add(Dangling("SCHEMA.UnknownSite", entry, field, path, subject,
                    $"{path}.{field} names site '{site}', which is not in sites (known: {string.Join(", ", policy.Sites.Keys)}).", site, null));
            }
        }
    }

    private static void ValidateRequiredUpdates(EstateLayout layout, RelocationManifest manifest, List<RelocationFinding> findings)
    {
        var active = manifest.ActiveRelocation?.State is RelocationState.Preflight or RelocationState.Cutover or RelocationState.Cleanup;
        var boundary = new EstateBoundary(layout.Root);
        for (var i = 0; i < manifest.RequiredUpdates.Count; i++)
        {
            var update = manifest.RequiredUpdates[i];
            var path = $"required_updates[{i}]";
            var escape = EscapeReason(boundary, update.Path);
            if (escape is not null)
            {
                findings.Add(RelocationFinding.Error("SCHEMA.PathEscapesRoot", $"required_updates path '{update.Path}' {escape}; paths must stay inside the estate root.",
                    update.Location, path, update.Path, actual: update.Path));
                continue;
            }
            var full = Path.GetFullPath(Path.Combine(layout.Root, update.Path));
            if (!File.Exists(full))
            {
                findings.Add(RelocationFinding.Of(active ? FindingSeverity.Error : FindingSeverity.Warning, "SCHEMA.RequiredUpdateMissing",
                    Directory.Exists(full)
                        ? $"required_updates path '{update.Path}' is a folder, not a file."
                        : $"required_updates path '{update.Path}' does not exist.",
                    update.Location, path, update.Path));
            }
        }
    }

    /// <summary>Why a <c>required_updates</c> path leaves the root (absolute, '..', a link out), or null when it stays inside.</summary>
    private static string? EscapeReason(EstateBoundary boundary, string relative) =>
        relative.Length > 0 && (Path.IsPathRooted(relative) || relative.StartsWith('/') || relative.StartsWith('\\') ||
                                (relative.Length >= 2 && relative[1] == ':'))
            ? "is absolute"
            : boundary.EscapeReason(relative);

    private static RelocationFinding Dangling(string ruleId, ModelEntry entry, string field, string path, string subject,
        string message, string actual, SourceLocation? related, FindingSeverity severity = FindingSeverity.Error) =>
        RelocationFinding.Of(severity, ruleId, message, entry.LocationOf(field), $"{path}.{field}", subject, related, actual: actual);
}
