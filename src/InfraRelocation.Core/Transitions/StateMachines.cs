using InfraRelocation.Core.Estate.Readers;
using InfraRelocation.Model;

namespace InfraRelocation.Core.Transitions;

/// <summary>
/// The relocation state machine (<c>active_relocation.state</c>): planning → preflight → cutover → cleanup →
/// complete, one step at a time. A step back (cutover → preflight, preflight → planning) is an abort and needs an
/// explicit rollback request. X → X is an idempotent no-op.
/// </summary>
public static class RelocationStateMachine
{
    private static readonly RelocationState[] s_order =
        [RelocationState.Planning, RelocationState.Preflight, RelocationState.Cutover, RelocationState.Cleanup, RelocationState.Complete];

    /// <summary>The next state going forward; empty from complete.</summary>
    public static IReadOnlyList<RelocationState> AllowedNext(RelocationState from)
    {
        var i = Array.IndexOf(s_order, from);
        return i + 1 < s_order.Length ? [s_order[i + 1]] : [];
    }

    /// <summary>The state an abort (-Rollback) may step back to; empty when none (planning, cleanup, complete).</summary>
    public static IReadOnlyList<RelocationState> AllowedRollback(RelocationState from) => from switch
    {
        RelocationState.Cutover => [RelocationState.Preflight],
        RelocationState.Preflight => [RelocationState.Planning],
        _ => [],
    };

    public static bool IsForward(RelocationState from, RelocationState to) => AllowedNext(from).Contains(to);

    public static bool IsRollback(RelocationState from, RelocationState to) => AllowedRollback(from).Contains(to);

    /// <summary>Service statuses a relocation in <paramref name="state"/> allows (used by the abort guard).</summary>
    public static IReadOnlyList<ServiceStatus> ServiceStatusesAllowedIn(RelocationState state) =>
        Enum.GetValues<ServiceStatus>().Where(s => ServiceStatusMachine.RequiredStates(s) is not { } states || states.Contains(state)).ToList();

    public static string Yaml(RelocationState state) => ManifestReader.ToYaml(state);

    /// <summary>Parses a state given as an enum name (<c>Cutover</c>) or its YAML spelling (<c>cutover</c>); null when unknown.</summary>
    public static RelocationState? Parse(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }
        var t = text.Trim();
        if (ManifestReader.States.TryGetValue(t.ToLowerInvariant(), out var state))
        {
            return state;
        }
        return Enum.TryParse<RelocationState>(t, ignoreCase: true, out var parsed) && Enum.IsDefined(parsed) && !t.All(char.IsDigit) ? parsed : null;
    }
}

/// <summary>
/// The service status table (<c>services[].status</c>), see about_InfraRelocation "States and statuses":
/// planned → shadow | cutover; shadow → cutover | rolled-back | planned; cutover → applied | rolled-back;
/// applied | migrated → complete | rolled-back; rolled-back → planned; X → X is an idempotent no-op.
/// <c>migrated</c> (the protocol's word) and <c>applied</c> mean the same: promoted to the new host. A move to either
/// writes the word the estate already uses (<see cref="PromotedWord"/>).
/// </summary>
public static class ServiceStatusMachine
{
    public static IReadOnlyList<ServiceStatus> AllowedNext(ServiceStatus from) => from switch
    {
        ServiceStatus.Planned => [ServiceStatus.Shadow, ServiceStatus.Cutover],
        ServiceStatus.Shadow => [ServiceStatus.Cutover, ServiceStatus.RolledBack, ServiceStatus.Planned],
        ServiceStatus.Cutover => [ServiceStatus.Migrated, ServiceStatus.Applied, ServiceStatus.RolledBack],
        ServiceStatus.Applied or ServiceStatus.Migrated => [ServiceStatus.Complete, ServiceStatus.RolledBack],
        ServiceStatus.RolledBack => [ServiceStatus.Planned],
        _ => [],
    };

    /// <summary>True for the promoted meaning (the protocol's <c>migrated</c>, or <c>applied</c>).</summary>
    public static bool IsPromoted(ServiceStatus status) => status is ServiceStatus.Migrated or ServiceStatus.Applied;

    /// <summary>
    /// The word a move to the promoted meaning writes: the one a service of the manifest already has (an estate that
    /// writes <c>applied</c> keeps writing it), else the protocol's <c>migrated</c>.
    /// </summary>
    public static ServiceStatus PromotedWord(IEnumerable<ServiceMove> services) =>
        services.Select(s => s.Status).FirstOrDefault(s => s is { } v && IsPromoted(v)) ?? ServiceStatus.Migrated;

    public static bool IsAllowed(ServiceStatus from, ServiceStatus to) => from == to || AllowedNext(from).Contains(to);

    /// <summary>Relocation states a service may be moved to <paramref name="status"/> in; null = any state.</summary>
    public static IReadOnlyList<RelocationState>? RequiredStates(ServiceStatus status) => status switch
    {
        ServiceStatus.Shadow => [RelocationState.Preflight, RelocationState.Cutover, RelocationState.Cleanup],
        ServiceStatus.Cutover or ServiceStatus.Applied or ServiceStatus.Migrated or ServiceStatus.RolledBack =>
            [RelocationState.Cutover, RelocationState.Cleanup],
        ServiceStatus.Complete => [RelocationState.Cleanup, RelocationState.Complete],
        _ => null,
    };

    /// <summary>True when moving to <paramref name="status"/> needs <c>approved_by</c>.</summary>
    public static bool RequiresApproval(ServiceStatus status) =>
        status is ServiceStatus.Cutover or ServiceStatus.Applied or ServiceStatus.Migrated or ServiceStatus.RolledBack;

    public static string Yaml(ServiceStatus status) => ManifestReader.ToYaml(status);

    /// <summary>Parses <c>RolledBack</c>, <c>rolled-back</c>, <c>rolled_back</c>, <c>rolledback</c> …; null when unknown.</summary>
    public static ServiceStatus? Parse(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }
        var t = text.Trim();
        if (ManifestReader.ServiceStatuses.TryGetValue(t.ToLowerInvariant(), out var status))
        {
            return status;
        }
        var compact = t.Replace("-", "", StringComparison.Ordinal).Replace("_", "", StringComparison.Ordinal);
        return Enum.TryParse<ServiceStatus>(compact, ignoreCase: true, out var parsed) && Enum.IsDefined(parsed) && !compact.All(char.IsDigit) ? parsed : null;
    }
}

/// <summary>VM target statuses (<c>vm_targets[].status</c>): no ordering is enforced (see about_InfraRelocation).</summary>
public static class VmTargetStatusNames
{
    public static string Yaml(VmTargetStatus status) => ManifestReader.VmStatuses.First(p => p.Value == status).Key;

    public static VmTargetStatus? Parse(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }
        var t = text.Trim();
        if (ManifestReader.VmStatuses.TryGetValue(t.ToLowerInvariant(), out var status))
        {
            return status;
        }
        return Enum.TryParse<VmTargetStatus>(t, ignoreCase: true, out var parsed) && Enum.IsDefined(parsed) && !t.All(char.IsDigit) ? parsed : null;
    }

    /// <summary>Statuses that need a tailscale IP (the VM is on the tailnet from ready on).</summary>
    public static bool NeedsTailscaleIp(VmTargetStatus status) =>
        status is VmTargetStatus.Ready or VmTargetStatus.Cutover or VmTargetStatus.Complete;
}
