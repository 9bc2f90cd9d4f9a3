namespace InfraRelocation.Gates;

/// <summary>Stable identifiers of the read-only gates.</summary>
public static class GateIds
{
    /// <summary>Schema validation of every protocol file (rule ids <c>YAML.*</c>, <c>SCHEMA.*</c>).</summary>
    public const string Schema = "SCHEMA";
    /// <summary>Cross-file relocation parity (protocol D35).</summary>
    public const string Parity = "D35";
    /// <summary>Exception hygiene (protocol D36).</summary>
    public const string ExceptionHygiene = "D36";
    /// <summary>Placement policy (protocol D37).</summary>
    public const string Placement = "D37";
    /// <summary>Hypervisor identity (protocol capability infra.hypervisor.identity).</summary>
    public const string HypervisorIdentity = "IDENTITY";
}

/// <summary>The outcome of one gate: passed when it found no error (warnings do not fail a gate).</summary>
public sealed record GateResult
{
    /// <summary><c>SCHEMA</c>, <c>D35</c>, <c>D36</c>, <c>D37</c> or <c>IDENTITY</c>.</summary>
    public required string GateId { get; init; }
    public required bool Passed { get; init; }
    public IReadOnlyList<RelocationFinding> Findings { get; init; } = [];
    /// <summary>Why the gate checked nothing or what it covered, e.g. "state planning: D35 not active".</summary>
    public string Summary { get; init; } = "";
    /// <summary>How many entries (services, VM targets, exceptions, hypervisors) the gate evaluated.</summary>
    public int Checked { get; init; }

    public int ErrorCount => Findings.Count(f => f.Severity == FindingSeverity.Error);
    public int WarningCount => Findings.Count(f => f.Severity == FindingSeverity.Warning);
}

/// <summary>The seven surfaces of the protocol's parity table that must agree with the manifest.</summary>
public enum ParitySurface
{
    /// <summary><c>SERVICE_REGISTRY.yaml</c>: the service's host is the expected host.</summary>
    ServiceRegistry,
    /// <summary><c>STACK_REGISTRY.yaml</c>: the stack deploys to the expected host.</summary>
    StackRegistry,
    /// <summary><c>DEVICE_IDENTITY_SSOT.md</c>: the host is documented with its address.</summary>
    DeviceIdentity,
    /// <summary><c>services.health.yaml</c>: the health endpoint points to the expected host.</summary>
    HealthBindings,
    /// <summary><c>ssh.targets.yaml</c>: an SSH target exists for the expected host.</summary>
    SshTargets,
    /// <summary><c>backup.inventory.yaml</c>: the manifest's backup_target is inventoried.</summary>
    BackupInventory,
    /// <summary><c>infra.placement.policy.yaml</c>: the host's site is the service's primary site.</summary>
    PlacementPolicy,
}

/// <summary>
/// One cell of the impact (delta) matrix: which file must say what for a service to be consistent with the
/// manifest, what it says now, and where.
/// </summary>
public sealed record ImpactItem
{
    public required string Service { get; init; }
    /// <summary>The service's status text in the manifest.</summary>
    public string? Status { get; init; }
    public int? Phase { get; init; }
    public required ParitySurface Surface { get; init; }
    /// <summary>The file that must change, relative to the estate root.</summary>
    public required string File { get; init; }
    /// <summary>Where the current value is (or the file/entry where it must be added).</summary>
    public SourceLocation? Location { get; init; }
    /// <summary>Path inside the document, e.g. <c>services.wiki.host</c>.</summary>
    public required string DocumentPath { get; init; }
    /// <summary>Null when the value (or entry) does not exist yet.</summary>
    public string? CurrentValue { get; init; }
    public string? RequiredValue { get; init; }
    /// <summary>True when the file already says what it must.</summary>
    public required bool Satisfied { get; init; }
    /// <summary>Where the manifest states the required value (to_host or rollback_to).</summary>
    public SourceLocation? ManifestLocation { get; init; }
    public string Note { get; init; } = "";
}

/// <summary>The kind of a rollback checklist step, in the protocol's order.</summary>
public enum RollbackStepKind
{
    Stop,
    Restore,
    Start,
    Route,
    Revert,
    Verify,
    Document,
}

/// <summary>One step of a rollback checklist. Steps are ordered deterministically by <see cref="Order"/>.</summary>
public sealed record RollbackStep
{
    /// <summary>1-based position in the whole plan.</summary>
    public required int Order { get; init; }
    public required string Service { get; init; }
    public int? Phase { get; init; }
    public required RollbackStepKind Kind { get; init; }
    /// <summary>The host the step acts on, when it acts on one.</summary>
    public string? Host { get; init; }
    public required string Action { get; init; }
    /// <summary>For <see cref="RollbackStepKind.Revert"/>: the file, location and values.</summary>
    public string? File { get; init; }
    public SourceLocation? Location { get; init; }
    public string? DocumentPath { get; init; }
    public string? CurrentValue { get; init; }
    public string? RevertTo { get; init; }
    /// <summary>For <see cref="RollbackStepKind.Verify"/>: the command to run.</summary>
    public string? Command { get; init; }
}

/// <summary>What a hypervisor reports about itself (fed to the identity gate by a live probe).</summary>
public sealed record HypervisorObservation
{
    /// <summary>Placement-policy host id the observation is for.</summary>
    public required string HostId { get; init; }
    public string? Hostname { get; init; }
    public string? Fqdn { get; init; }
    public string? MachineId { get; init; }
    /// <summary>Why the probe failed (the observation is then inconclusive, which fails the gate).</summary>
    public string? Error { get; init; }
}

/// <summary>
/// Process exit codes for scheduled tasks (<c>exit (Invoke-RelocationGate -AsExitCode)</c>).
/// </summary>
public static class GateExitCode
{
    /// <summary>Every gate passed (warnings allowed).</summary>
    public const int Pass = 0;
    /// <summary>At least one gate found an error.</summary>
    public const int Findings = 1;
    /// <summary>The estate could not be read: no root, unreadable file, malformed YAML.</summary>
    public const int InvalidInput = 2;
}

/// <summary>Formats Export-RelocationReport writes.</summary>
public enum ReportFormat
{
    Json,
    Sarif,
    JUnit,
    Markdown,
    /// <summary>One self-contained HTML page (inline CSS and SVG; no network when viewed).</summary>
    Html,
}
