using InfraRelocation.Core.Gates;

namespace InfraRelocation.Commands.Cmdlets;

/// <summary>Test-RelocationException: D36 exception hygiene over the manifest's exceptions and the exception register.</summary>
[Cmdlet(VerbsDiagnostic.Test, "RelocationException")]
[OutputType(typeof(RelocationFinding), typeof(GateReceipt), typeof(int))]
public sealed class TestRelocationExceptionCommand : GateCmdlet
{
    /// <summary>Exceptions expiring within this many days are warnings.</summary>
    [Parameter]
    [ValidateRange(0, 3650)]
    public double WarningDays { get; set; } = 7;

    /// <summary>Evaluate expiry as of this time instead of now.</summary>
    [Parameter]
    public DateTimeOffset? AsOf { get; set; }

    protected override string Capability => "gate.d36.exception.hygiene";

    protected override IReadOnlyList<GateResult> Evaluate(EstateSnapshot estate) =>
        [ExceptionHygieneGate.Evaluate(estate, new GateOptions { WarningDays = WarningDays, Now = AsOf })];
}
