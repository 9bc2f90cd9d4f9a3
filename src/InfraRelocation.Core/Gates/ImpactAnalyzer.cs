namespace InfraRelocation.Core.Gates;

/// <summary>
/// The delta matrix (capability <c>infra.relocation.impact</c>): for each service, what each of the seven
/// parity surfaces must say, what it says now and where. D35's full parity is built on the same checks, so
/// the impact report and the gate can never disagree.
/// </summary>
public static class ImpactAnalyzer
{
    /// <summary>Impact items for every service past planned (and planned ones when <paramref name="includePlanned"/>).</summary>
    public static IReadOnlyList<ImpactItem> Analyze(EstateSnapshot estate, bool includePlanned = false, string? service = null)
    {
        var items = new List<ImpactItem>();
        if (estate.Manifest is null)
        {
            return items;
        }
        var index = EstateIndex.For(estate);
        foreach (var move in estate.Manifest.Services)
        {
            if (service is not null && !string.Equals(move.Service, service, StringComparison.Ordinal))
            {
                continue;
            }
            if (!ServiceRules.IsPastPlanned(move) && !(includePlanned && move.Status == ServiceStatus.Planned))
            {
                continue;
            }
            foreach (var check in Check(index, move, includePlacement: true))
            {
                items.Add(check.Item);
            }
        }
        return items;
    }

    /// <summary>One surface check: the item, and when it is not satisfied, the finding D35 reports.</summary>
    internal sealed record SurfaceCheck(ImpactItem Item, string? RuleId, FindingSeverity Severity, string? Message, SourceLocation? Related);

    internal static IEnumerable<SurfaceCheck> Check(EstateIndex index, ServiceMove move, bool includePlacement, bool includeSatisfied = true)
    {
        var estate = index.Estate;
        var expected = ServiceRules.ExpectedHost(move);
        if (expected is null)
        {
            yield break;
        }
        var field = ServiceRules.ExpectedHostField(move);
        var manifestFile = estate.Manifest!.File;
        var manifestLoc = move.LocationOf(field);
        // Messages are built only for failures: the gate runs this for every service of large estates.
        string ManifestSays() => $"the manifest says {field}: {expected} at {manifestLoc}";
        ImpactItem Item(ParitySurface surface, EstateFile file, SourceLocation? location, string path, string? current, string? required, bool ok, string note = "") => new()
        {
            Service = move.Service,
            Status = move.StatusText,
            Phase = move.Phase,
            Surface = surface,
            File = estate.Layout.RelativePath(file),
            Location = location,
            DocumentPath = path,
            CurrentValue = current,
            RequiredValue = required,
            Satisfied = ok,
            ManifestLocation = manifestLoc,
            Note = note,
        };
        SourceLocation FileStart(EstateFile file) => new(estate.Layout.RelativePath(file), 1, 1);

        // 1. Service registry: services.<name>.host == expected.
        var registryPath = $"services.{move.Service}.host";
        if (estate.ServiceRegistry is not { } registry)
        {
            yield return new SurfaceCheck(Item(ParitySurface.ServiceRegistry, EstateFile.ServiceRegistry, null, registryPath, null, expected, false, "file missing"),
                null, FindingSeverity.Error, null, null); // reported once per file by the gate
        }
        else if (!registry.Services.TryGetValue(move.Service, out var registered))
        {
            yield return new SurfaceCheck(Item(ParitySurface.ServiceRegistry, EstateFile.ServiceRegistry, registry.Location ?? FileStart(EstateFile.ServiceRegistry), registryPath, null, expected, false, "entry missing"),
                "D35.RegistryEntryMissing", FindingSeverity.Error,
                $"{move.Service}: {ManifestSays()} while the service registry has no entry for {move.Service} ({registry.File}).",
                registry.Location ?? FileStart(EstateFile.ServiceRegistry));
        }
        else if (ServiceRules.Blank(registered.Host) is not { } host)
        {
            var at = registered.LocationOf("host") ?? registered.Location;
            yield return new SurfaceCheck(Item(ParitySurface.ServiceRegistry, EstateFile.ServiceRegistry, at, registryPath, null, expected, false, "host missing"),
                "D35.RegistryHostMissing", FindingSeverity.Error,
                $"{move.Service}: {ManifestSays()} while the service registry gives no host at {at}.", at);
        }
        else
        {
            var at = registered.LocationOf("host");
            var ok = string.Equals(host, expected, StringComparison.Ordinal);
            if (!ok || includeSatisfied)
            yield return new SurfaceCheck(Item(ParitySurface.ServiceRegistry, EstateFile.ServiceRegistry, at, registryPath, host, expected, ok),
                ok ? null : "D35.RegistryHostMismatch", FindingSeverity.Error,
                ok ? null : $"{move.Service}: {ManifestSays()} while the service registry says {host} at {at}.", at);
        }

        // 2. Stack registry: the stack's deploy_target names the expected host.
        if (estate.StackRegistry is { } stacks)
        {
            if (!index.StacksById.TryGetValue(move.Service, out var stack))
            {
                yield return new SurfaceCheck(Item(ParitySurface.StackRegistry, EstateFile.StackRegistry, stacks.Location ?? FileStart(EstateFile.StackRegistry), $"stacks[stack_id={move.Service}]", null, DeployTargetFor(index, null, expected), false, "no stack entry"),
                    "D35.StackEntryMissing", FindingSeverity.Warning,
                    $"{move.Service}: the stack registry ({stacks.File}) has no stack with stack_id {move.Service}; its compose location cannot be checked against {field}: {expected} at {manifestLoc}.", stacks.Location);
            }
            else
            {
                var at = stack.LocationOf("deploy_target") ?? stack.Location;
                var ok = stack.DeployTarget is not null && DeployTargetRefersTo(index, stack.DeployTarget, expected);
                var required = ok && !includeSatisfied ? null : DeployTargetFor(index, stack.DeployTarget, expected);
                if (!ok || includeSatisfied)
                yield return new SurfaceCheck(Item(ParitySurface.StackRegistry, EstateFile.StackRegistry, at, $"stacks[{stack.Index}].deploy_target", stack.DeployTarget, required, ok),
                    ok ? null : (stack.DeployTarget is null ? "D35.StackTargetMissing" : "D35.StackTargetMismatch"),
                    stack.DeployTarget is null ? FindingSeverity.Warning : FindingSeverity.Error,
                    ok ? null : stack.DeployTarget is null
                        ? $"{move.Service}: {ManifestSays()} while the stack registry gives no deploy_target for stack {stack.StackId} at {at}."
                        : $"{move.Service}: {ManifestSays()} while the stack registry says deploy_target: {stack.DeployTarget} at {at}.", at);
            }
        }
        else
        {
            yield return new SurfaceCheck(Item(ParitySurface.StackRegistry, EstateFile.StackRegistry, null, $"stacks[stack_id={move.Service}]", null, DeployTargetFor(index, null, expected), false, "file missing"),
                null, FindingSeverity.Warning, null, null);
        }

        // 3. Device identity: the expected host is documented, with its mesh address when the manifest knows it.
        var address = index.VmsByHostname.TryGetValue(expected, out var vm) ? ServiceRules.Blank(vm.TailscaleIp) : null;
        var deviceRequired = address is null ? expected : $"{expected} {address}";
        if (estate.DeviceIdentity is { } identity)
        {
            if (!index.DevicesByHost.TryGetValue(expected, out var device))
            {
                yield return new SurfaceCheck(Item(ParitySurface.DeviceIdentity, EstateFile.DeviceIdentity, identity.Location ?? FileStart(EstateFile.DeviceIdentity), $"devices[{expected}]", null, deviceRequired, false, "host undocumented"),
                    "D35.DeviceUndocumented", FindingSeverity.Error,
                    $"{move.Service}: {ManifestSays()} while the device identity document ({identity.File}) has no row for {expected}.", identity.Location);
            }
            else
            {
                var ok = address is null || device.Addresses.Contains(address, StringComparer.Ordinal);
                var current = ok && !includeSatisfied ? null : device.Addresses.Count == 0 ? expected : $"{device.Hostname} {string.Join(", ", device.Addresses)}";
                var addressLoc = vm?.LocationOf("tailscale_ip");
                if (!ok || includeSatisfied)
                yield return new SurfaceCheck(Item(ParitySurface.DeviceIdentity, EstateFile.DeviceIdentity, device.Location, $"devices[{expected}].addresses", current, deviceRequired, ok),
                    ok ? null : "D35.DeviceAddressMismatch", FindingSeverity.Error,
                    ok ? null : $"{move.Service}: the manifest says {expected} has tailscale_ip: {address} at {addressLoc} while the device identity document lists {(device.Addresses.Count == 0 ? "no address" : string.Join(", ", device.Addresses))} at {device.Location}.",
                    device.Location);
            }
        }
        else
        {
            yield return new SurfaceCheck(Item(ParitySurface.DeviceIdentity, EstateFile.DeviceIdentity, null, $"devices[{expected}]", null, deviceRequired, false, "file missing"),
                null, FindingSeverity.Warning, null, null);
        }

        // 4. Health binding: the service's endpoint runs on the expected host.
        if (estate.HealthBindings is { } health)
        {
            if (index.HealthById.TryGetValue(move.Service, out var endpoint))
            {
                var at = endpoint.LocationOf("host") ?? endpoint.Location;
                var ok = string.Equals(endpoint.Host, expected, StringComparison.Ordinal);
                if (!ok || includeSatisfied)
                yield return new SurfaceCheck(Item(ParitySurface.HealthBindings, EstateFile.HealthBindings, at, $"endpoints[{endpoint.Index}].host", endpoint.Host, expected, ok),
                    ok ? null : "D35.HealthHostMismatch", FindingSeverity.Error,
                    ok ? null : $"{move.Service}: {ManifestSays()} while the health binding says host: {endpoint.Host ?? "(none)"} at {at}.", at);
            }
            else if (ServiceRules.Blank(move.HealthUrl) is not null)
            {
                yield return new SurfaceCheck(Item(ParitySurface.HealthBindings, EstateFile.HealthBindings, health.Location ?? FileStart(EstateFile.HealthBindings), $"endpoints[id={move.Service}].host", null, expected, false, "endpoint missing"),
                    "D35.HealthEndpointMissing", FindingSeverity.Error,
                    $"{move.Service}: the manifest declares health_url: {move.HealthUrl} at {move.LocationOf("health_url")} while the health binding ({health.File}) has no endpoint with id {move.Service}.",
                    health.Location);
            }
        }
        else if (ServiceRules.Blank(move.HealthUrl) is not null)
        {
            yield return new SurfaceCheck(Item(ParitySurface.HealthBindings, EstateFile.HealthBindings, null, $"endpoints[id={move.Service}].host", null, expected, false, "file missing"),
                null, FindingSeverity.Warning, null, null);
        }

        // 5. SSH targets: the expected host is addressable.
        var sshPath = $"ssh.targets[id={expected}]";
        if (estate.SshTargets is { } ssh)
        {
            if (!index.SshById.TryGetValue(expected, out var target))
            {
                yield return new SurfaceCheck(Item(ParitySurface.SshTargets, EstateFile.SshTargets, ssh.Location ?? FileStart(EstateFile.SshTargets), sshPath, null, expected, false, "target missing"),
                    "D35.SshTargetMissing", FindingSeverity.Error,
                    $"{move.Service}: {ManifestSays()} while {ssh.File} has no target with id {expected}.", ssh.Location ?? FileStart(EstateFile.SshTargets));
            }
            else if (ServiceRules.Blank(target.Host) is null)
            {
                var at = target.LocationOf("host") ?? target.Location;
                yield return new SurfaceCheck(Item(ParitySurface.SshTargets, EstateFile.SshTargets, at, $"ssh.targets[{target.Index}].host", null, "an address", false, "no address"),
                    "D35.SshTargetNoAddress", FindingSeverity.Warning,
                    $"{move.Service}: the SSH target {expected} at {target.Location} has no host address, so it cannot be reached.", at);
            }
            else if (includeSatisfied)
            {
                yield return new SurfaceCheck(Item(ParitySurface.SshTargets, EstateFile.SshTargets, target.Location, $"ssh.targets[{target.Index}].id", target.Id, expected, true), null, FindingSeverity.Error, null, null);
            }
        }
        else
        {
            yield return new SurfaceCheck(Item(ParitySurface.SshTargets, EstateFile.SshTargets, null, sshPath, null, expected, false, "file missing"),
                null, FindingSeverity.Error, null, null);
        }

        // 6. Backup inventory: the manifest's backup_target is an inventoried, enabled backup location.
        if (ServiceRules.Blank(move.BackupTarget) is { } backupTarget)
        {
            if (estate.BackupInventory is { } backups)
            {
                var found = index.FindBackup(backupTarget);
                var btLoc = move.LocationOf("backup_target");
                if (found is null)
                {
                    yield return new SurfaceCheck(Item(ParitySurface.BackupInventory, EstateFile.BackupInventory, backups.Location ?? FileStart(EstateFile.BackupInventory), $"targets[host:base_path={backupTarget}]", null, backupTarget, false, "not inventoried"),
                        "D35.BackupNotInventoried", FindingSeverity.Error,
                        $"{move.Service}: the manifest says backup_target: {backupTarget} at {btLoc} while {backups.File} has no target with that host and base_path.", backups.Location);
                }
                else
                {
                    var at = found.LocationOf("base_path") ?? found.Location;
                    var current = $"{found.Host}:{found.BasePath}";
                    if (!found.Enabled || includeSatisfied)
                    yield return new SurfaceCheck(Item(ParitySurface.BackupInventory, EstateFile.BackupInventory, at, $"targets[{found.Index}]", current, backupTarget, found.Enabled, found.Enabled ? "" : "disabled"),
                        found.Enabled ? null : "D35.BackupDisabled", FindingSeverity.Error,
                        found.Enabled ? null : $"{move.Service}: the manifest says backup_target: {backupTarget} at {btLoc} while the backup inventory target {found.Name} at {found.Location} is disabled.", found.Location);
                }
            }
            else
            {
                yield return new SurfaceCheck(Item(ParitySurface.BackupInventory, EstateFile.BackupInventory, null, $"targets[host:base_path={backupTarget}]", null, backupTarget, false, "file missing"),
                    null, FindingSeverity.Warning, null, null);
            }
        }

        // 7. Placement policy: reported by D37; the impact shows it.
        if (includePlacement)
        {
            var policy = estate.Policy;
            var site = policy is not null && policy.Hosts.TryGetValue(expected, out var ph) ? ph.Site : null;
            ServicePlacementRule? rule = null;
            if (policy is not null)
            {
                policy.ServicePlacement.TryGetValue(move.Service, out rule);
            }
            if (move.Status == ServiceStatus.RolledBack)
            {
                var dr = rule?.DrSites;
                var ok = site is not null && dr is not null && dr.Contains(site, StringComparer.Ordinal);
                yield return new SurfaceCheck(Item(ParitySurface.PlacementPolicy, EstateFile.PlacementPolicy, rule?.LocationOf("dr_sites"), $"service_placement.{move.Service}.dr_sites",
                    dr is null ? null : string.Join(", ", dr), site, ok), null, FindingSeverity.Error, null, null);
            }
            else
            {
                var ok = site is not null && (rule?.PrimarySite is null || string.Equals(rule.PrimarySite, site, StringComparison.Ordinal));
                yield return new SurfaceCheck(Item(ParitySurface.PlacementPolicy, EstateFile.PlacementPolicy, rule?.LocationOf("primary_site"), $"service_placement.{move.Service}.primary_site",
                    rule?.PrimarySite, site, ok), null, FindingSeverity.Error, null, null);
            }
        }
    }

    /// <summary>True when a stack's deploy_target names the host: <c>host</c>, <c>kind:host</c> or <c>proxmox:vm-VMID</c>.</summary>
    internal static bool DeployTargetRefersTo(EstateIndex index, string deployTarget, string host)
    {
        if (string.Equals(deployTarget, host, StringComparison.Ordinal) ||
            deployTarget.EndsWith(":" + host, StringComparison.Ordinal))
        {
            return true;
        }
        return index.VmIdOf(host) is { } vmid &&
            (deployTarget.EndsWith(":vm-" + vmid, StringComparison.Ordinal) || deployTarget.EndsWith(":" + vmid, StringComparison.Ordinal));
    }

    /// <summary>The deploy_target value that names the host, in the same style as the current one.</summary>
    internal static string DeployTargetFor(EstateIndex index, string? current, string host)
    {
        if (current is not null && current.Contains(":vm-", StringComparison.Ordinal) && index.VmIdOf(host) is { } vmid)
        {
            return current[..(current.IndexOf(":vm-", StringComparison.Ordinal) + 4)] + vmid;
        }
        if (current is not null && current.Contains(':', StringComparison.Ordinal))
        {
            return current[..(current.IndexOf(':', StringComparison.Ordinal) + 1)] + host;
        }
        return "host:" + host;
    }
}
