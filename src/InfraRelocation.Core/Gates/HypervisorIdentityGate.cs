using System.Text.RegularExpressions;
using static InfraRelocation.Core.Gates.GateHelpers;
using static InfraRelocation.RelocationFinding;

namespace InfraRelocation.Core.Gates;

/// <summary>
/// Hypervisor identity (capability <c>infra.hypervisor.identity</c>). Offline: every proxmox host of the
/// placement policy has an SSH target with an address, a pinned 32-hex machine_id, and expected hostnames
/// (the host id, or the naming-policy exception) and pinned machine ids are unique. Live: when observations
/// are given (what each hypervisor reports), the reported hostname must equal the expected one, the reported
/// machine-id must equal the pinned one, both must be unique, and a failed probe is an error (inconclusive is
/// never a pass).
/// </summary>
public static partial class HypervisorIdentityGate
{
    [GeneratedRegex("^[0-9a-f]{32}$")]
    private static partial Regex MachineIdPattern();

    /// <summary>The hypervisors the gate covers: policy hosts of kind proxmox, in file order, optionally filtered.</summary>
    public static IReadOnlyList<PlacementHost> Hypervisors(EstateSnapshot estate, GateOptions? options = null)
    {
        if (estate.Policy is not { } policy)
        {
            return [];
        }
        var filter = options?.HypervisorIds is { Count: > 0 } ids ? new HashSet<string>(ids, StringComparer.Ordinal) : null;
        return policy.Hosts.Values.Where(h => h.IsProxmox && (filter is null || filter.Contains(h.Id))).ToList();
    }

    /// <summary>The hostname a hypervisor must report: its id, or its naming-policy exception's <c>actual</c>.</summary>
    public static string ExpectedHostname(EstateSnapshot estate, string hostId) =>
        EstateIndex.For(estate).HostnameExceptions.TryGetValue(hostId, out var ex) && ex.Actual is not null ? ex.Actual : hostId;

    public static GateResult Evaluate(EstateSnapshot estate, GateOptions? options = null)
    {
        options ??= GateOptions.Default;
        var findings = new List<RelocationFinding>();
        if (estate.Policy is not { } policy)
        {
            findings.Add(Error("IDENTITY.PolicyMissing", $"The placement policy {estate.Layout.RelativePath(EstateFile.PlacementPolicy)} does not exist.", null));
            return Result(GateIds.HypervisorIdentity, findings, "no placement policy", 0);
        }
        if (options.HypervisorIds is { Count: > 0 } wanted)
        {
            foreach (var id in wanted)
            {
                if (!policy.Hosts.TryGetValue(id, out var h) || !h.IsProxmox)
                {
                    findings.Add(Error("IDENTITY.UnknownHypervisor", $"{id} is not a host of kind proxmox in {policy.File}.", h?.Location ?? policy.Location, subject: id));
                }
            }
        }
        var hypervisors = Hypervisors(estate, options);
        if (hypervisors.Count == 0)
        {
            findings.Add(Error("IDENTITY.NoHypervisors", $"{policy.File} declares no host of kind proxmox.", policy.Location));
            return Result(GateIds.HypervisorIdentity, findings, "no hypervisors", 0);
        }
        var index = EstateIndex.For(estate);
        var expectedNames = new Dictionary<string, PlacementHost>(StringComparer.OrdinalIgnoreCase);
        var pinnedIds = new Dictionary<string, PlacementHost>(StringComparer.OrdinalIgnoreCase);
        foreach (var hv in hypervisors)
        {
            var path = $"hosts.{hv.Id}";
            if (!index.SshById.TryGetValue(hv.Id, out var target))
            {
                findings.Add(Error("IDENTITY.SshTargetMissing",
                    $"Hypervisor {hv.Id} at {hv.Location} has no SSH target in {estate.SshTargets?.File ?? estate.Layout.RelativePath(EstateFile.SshTargets)}, so its identity cannot be verified.",
                    hv.Location, path, hv.Id, estate.SshTargets?.Location));
            }
            else if (ServiceRules.Blank(target.Host) is null)
            {
                findings.Add(Error("IDENTITY.SshTargetNoAddress",
                    $"Hypervisor {hv.Id} at {hv.Location}: its SSH target at {target.Location} has no host address.",
                    hv.Location, path, hv.Id, target.Location));
            }

            var name = ExpectedHostname(estate, hv.Id);
            if (expectedNames.TryGetValue(name, out var owner))
            {
                findings.Add(Error("IDENTITY.DuplicateHostname",
                    $"Hypervisors {owner.Id} at {owner.Location} and {hv.Id} at {hv.Location} are both expected to be named {name}.",
                    hv.Location, path, hv.Id, owner.Location, actual: name));
            }
            else
            {
                expectedNames[name] = hv;
            }

            var idAt = hv.LocationOf("machine_id");
            if (hv.MachineId is null)
            {
                findings.Add(Warning("IDENTITY.MachineIdNotPinned",
                    $"Hypervisor {hv.Id} at {hv.Location} has no pinned machine_id; mutations cannot assert they talk to the right host.",
                    hv.Location, path + ".machine_id", hv.Id));
            }
            else if (!MachineIdPattern().IsMatch(hv.MachineId))
            {
                findings.Add(Error("IDENTITY.MachineIdMalformed", $"Hypervisor {hv.Id}: machine_id: {hv.MachineId} at {idAt} is not 32 lower-case hex digits.",
                    idAt, path + ".machine_id", hv.Id, actual: hv.MachineId));
            }
            else if (pinnedIds.TryGetValue(hv.MachineId, out var first))
            {
                findings.Add(Error("IDENTITY.DuplicateMachineId",
                    $"Hypervisors {first.Id} at {first.LocationOf("machine_id")} and {hv.Id} at {idAt} pin the same machine_id {hv.MachineId}.",
                    idAt, path + ".machine_id", hv.Id, first.LocationOf("machine_id"), actual: hv.MachineId));
            }
            else
            {
                pinnedIds[hv.MachineId] = hv;
            }
        }

        if (options.Observations is { } observations)
        {
            CheckLive(estate, hypervisors, observations, options, findings);
        }
        return Result(GateIds.HypervisorIdentity, findings,
            $"{hypervisors.Count} hypervisor(s){(options.Observations is null ? " (policy only)" : " (live)")}", hypervisors.Count);
    }

    private static void CheckLive(EstateSnapshot estate, IReadOnlyList<PlacementHost> hypervisors,
        IReadOnlyDictionary<string, HypervisorObservation> observations, GateOptions options, List<RelocationFinding> findings)
    {
        var index = EstateIndex.For(estate);
        var reportedNames = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var reportedIds = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var hv in hypervisors)
        {
            var path = $"hosts.{hv.Id}";
            if (!observations.TryGetValue(hv.Id, out var seen) || seen.Error is not null)
            {
                findings.Add(Error("IDENTITY.ProbeFailed",
                    $"Hypervisor {hv.Id}: identity could not be observed ({seen?.Error ?? "no observation"}); an inconclusive check does not pass.",
                    hv.Location, path, hv.Id));
                continue;
            }
            var expected = ExpectedHostname(estate, hv.Id);
            if (!string.Equals(seen.Hostname, expected, StringComparison.OrdinalIgnoreCase))
            {
                var message = $"Hypervisor {hv.Id}: the placement policy expects hostname {expected} at {hv.Location} while the host reports {seen.Hostname ?? "(none)"}.";
                findings.Add(options.AllowHostnameAlias
                    ? Warning("IDENTITY.HostnameMismatch", message, hv.Location, path, hv.Id, expected: expected, actual: seen.Hostname)
                    : Error("IDENTITY.HostnameMismatch", message, hv.Location, path, hv.Id, expected: expected, actual: seen.Hostname));
            }
            if (seen.Hostname is not null)
            {
                if (reportedNames.TryGetValue(seen.Hostname, out var other))
                {
                    var message = $"Hypervisors {other} and {hv.Id} both report hostname {seen.Hostname}.";
                    findings.Add(index.HostnameExceptions.ContainsKey(hv.Id)
                        ? Warning("IDENTITY.DuplicateReportedHostname", message, hv.Location, path, hv.Id, actual: seen.Hostname)
                        : Error("IDENTITY.DuplicateReportedHostname", message, hv.Location, path, hv.Id, actual: seen.Hostname));
                }
                else
                {
                    reportedNames[seen.Hostname] = hv.Id;
                }
            }
            var reportedId = ServiceRules.Blank(seen.MachineId) is { } rid && rid != "unknown" ? rid : null;
            if (reportedId is null)
            {
                findings.Add(Error("IDENTITY.MachineIdUnreported", $"Hypervisor {hv.Id} reported no machine-id.", hv.Location, path, hv.Id));
                continue;
            }
            if (reportedIds.TryGetValue(reportedId, out var twin))
            {
                findings.Add(Error("IDENTITY.DuplicateReportedMachineId", $"Hypervisors {twin} and {hv.Id} both report machine-id {reportedId}.",
                    hv.Location, path, hv.Id, actual: reportedId));
            }
            else
            {
                reportedIds[reportedId] = hv.Id;
            }
            if (hv.MachineId is not null && !string.Equals(hv.MachineId, reportedId, StringComparison.OrdinalIgnoreCase))
            {
                var at = hv.LocationOf("machine_id");
                findings.Add(Error("IDENTITY.MachineIdMismatch",
                    $"Hypervisor {hv.Id}: the placement policy pins machine_id: {hv.MachineId} at {at} while the host reports {reportedId}: this is not the host the policy means.",
                    at, path + ".machine_id", hv.Id, expected: hv.MachineId, actual: reportedId));
            }
        }
    }
}
