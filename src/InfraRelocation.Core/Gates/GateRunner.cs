using InfraRelocation.Core.Estate;
using InfraRelocation.Gates;

namespace InfraRelocation.Core.Gates;

/// <summary>
/// Runs every read-only gate as the protocol's final verification does (Invoke-RelocationGate): schema
/// validation of the loaded files, D35 parity, D36 exception hygiene, D37 placement and hypervisor identity.
/// </summary>
public static class GateRunner
{
    /// <summary>All gate ids in run order.</summary>
    public static readonly IReadOnlyList<string> AllGates =
        [GateIds.Schema, GateIds.Parity, GateIds.ExceptionHygiene, GateIds.Placement, GateIds.HypervisorIdentity];

    public static IReadOnlyList<GateResult> Run(EstateSnapshot estate, GateOptions? options = null, IEnumerable<string>? gates = null)
    {
        options ??= GateOptions.Default;
        var selected = gates is null ? AllGates : gates.ToList();
        var results = new List<GateResult>(selected.Count);
        foreach (var gate in selected)
        {
            results.Add(Evaluate(estate, gate, options));
        }
        return results;
    }

    public static GateResult Evaluate(EstateSnapshot estate, string gateId, GateOptions? options = null) => gateId switch
    {
        GateIds.Schema => Schema(estate),
        GateIds.Parity => ParityGate.Evaluate(estate, options),
        GateIds.ExceptionHygiene => ExceptionHygieneGate.Evaluate(estate, options),
        GateIds.Placement => PlacementGate.Evaluate(estate, options),
        GateIds.HypervisorIdentity => HypervisorIdentityGate.Evaluate(estate, options),
        _ => throw new RelocationException("UnknownGate", FailureKind.InvalidArgument,
            $"Unknown gate '{gateId}'; known gates: {string.Join(", ", AllGates)}.", target: gateId),
    };

    /// <summary>The schema findings the loader collected, as a gate result.</summary>
    public static GateResult Schema(EstateSnapshot estate)
    {
        var findings = estate.ValidationFindings.ToList();
        return GateHelpers.Result(GateIds.Schema, findings, $"{estate.InputDigests.Count} file(s) read", estate.InputDigests.Count);
    }

    /// <summary>0 when every result passed, else 1 (2, invalid input, is decided by the caller when loading fails).</summary>
    public static int ExitCodeFor(IEnumerable<GateResult> results) =>
        results.All(r => r.Passed) ? GateExitCode.Pass : GateExitCode.Findings;
}
