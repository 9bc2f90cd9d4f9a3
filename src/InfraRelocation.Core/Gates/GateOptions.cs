namespace InfraRelocation.Core.Gates;

/// <summary>Knobs shared by the gates. Every gate is a pure function of the estate, these options and the clock.</summary>
public sealed record GateOptions
{
    /// <summary>"Now" for expiry checks; defaults to the wall clock when null.</summary>
    public DateTimeOffset? Now { get; init; }
    /// <summary>D36: exceptions expiring within this many days are reported as warnings.</summary>
    public double WarningDays { get; init; } = 7;
    /// <summary>Identity: a reported hostname that differs from the expected one is a warning instead of an error.</summary>
    public bool AllowHostnameAlias { get; init; }
    /// <summary>Identity: restrict the check to these hypervisor ids (null = every proxmox host of the policy).</summary>
    public IReadOnlyCollection<string>? HypervisorIds { get; init; }
    /// <summary>
    /// Identity: what the hypervisors report, by host id (the live mode feeds this). Null = offline check of
    /// the policy only.
    /// </summary>
    public IReadOnlyDictionary<string, HypervisorObservation>? Observations { get; init; }

    /// <summary>
    /// D35: evaluate as if the relocation were in this state (e.g. the target of a transition, so that
    /// leaving planning can require parity as preflight will). Null = the manifest's state.
    /// </summary>
    public RelocationState? AssumedState { get; init; }

    public static GateOptions Default { get; } = new();

    internal DateTimeOffset Clock => Now ?? DateTimeOffset.UtcNow;
}
