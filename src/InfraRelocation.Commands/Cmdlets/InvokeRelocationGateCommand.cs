using InfraRelocation.Core.Gates;

namespace InfraRelocation.Commands.Cmdlets;

/// <summary>Invoke-RelocationGate: every read-only gate (schema, D35, D36, D37, identity), the protocol's final verification.</summary>
[Cmdlet(VerbsLifecycle.Invoke, "RelocationGate")]
[OutputType(typeof(RelocationFinding), typeof(GateReceipt), typeof(int))]
public sealed class InvokeRelocationGateCommand : GateCmdlet
{
    /// <summary>Run only these gates.</summary>
    [Parameter(Position = 0)]
    [ValidateSet(GateIds.Schema, GateIds.Parity, GateIds.ExceptionHygiene, GateIds.Placement, GateIds.HypervisorIdentity)]
    public string[]? Gate { get; set; }

    /// <summary>D36: exceptions expiring within this many days are warnings.</summary>
    [Parameter]
    [ValidateRange(0, 3650)]
    public double WarningDays { get; set; } = 7;

    /// <summary>D36: evaluate expiry as of this time instead of now.</summary>
    [Parameter]
    public DateTimeOffset? AsOf { get; set; }

    /// <summary>Identity: a reported hostname different from the expected one is a warning.</summary>
    [Parameter]
    public SwitchParameter AllowHostnameAlias { get; set; }

    protected override string Capability => "infra.relocation.gate";

    protected override IReadOnlyList<GateResult> Evaluate(EstateSnapshot estate) =>
        GateRunner.Run(estate, new GateOptions { WarningDays = WarningDays, Now = AsOf, AllowHostnameAlias = AllowHostnameAlias },
            Gate?.Select(g => g.ToUpperInvariant()).Distinct().OrderBy(g => GateRunner.AllGates.ToList().IndexOf(g)));
}
