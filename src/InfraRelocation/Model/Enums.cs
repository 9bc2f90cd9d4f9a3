namespace InfraRelocation.Model;

/// <summary>State of the active relocation (<c>active_relocation.state</c>); the protocol's state machine.</summary>
public enum RelocationState
{
    Planning,
    Preflight,
    Cutover,
    Cleanup,
    Complete,
}

/// <summary>
/// Status of one service move (<c>services[].status</c>). The protocol names planned, cutover, migrated and
/// complete; real estates also use shadow, applied and rolled-back. Meanings are documented in
/// about_InfraRelocation. YAML spelling: lower case, <c>rolled-back</c> with a hyphen.
/// </summary>
public enum ServiceStatus
{
    Planned,
    Shadow,
    Cutover,
    Migrated,
    Applied,
    RolledBack,
    Complete,
}

/// <summary>Status of a VM target (<c>vm_targets[].status</c>).</summary>
public enum VmTargetStatus
{
    Planned,
    Provisioned,
    Ready,
    Cutover,
    Complete,
}
