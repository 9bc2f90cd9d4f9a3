namespace InfraRelocation.Core.Gates;

/// <summary>
/// The one meaning of each service status that every gate shares (see about_InfraRelocation):
/// planned = nothing moved; shadow, cutover, applied, migrated (legacy synonym of applied) and complete =
/// the registry must name to_host; rolled-back = the registry must name rollback_to.
/// </summary>
public static class ServiceRules
{
    /// <summary>True for every known status except planned. Unknown/missing statuses are schema errors, not "planned".</summary>
    public static bool IsPastPlanned(ServiceMove service) => service.Status is { } s && s != ServiceStatus.Planned;

    /// <summary>The host the service must be registered on: rollback_to when rolled back, else to_host.</summary>
    public static string? ExpectedHost(ServiceMove service) =>
        service.Status == ServiceStatus.RolledBack ? Blank(service.RollbackTo) : Blank(service.ToHost);

    /// <summary>The manifest field the expected host comes from.</summary>
    public static string ExpectedHostField(ServiceMove service) =>
        service.Status == ServiceStatus.RolledBack ? "rollback_to" : "to_host";

    /// <summary>YAML spelling of a status.</summary>
    public static string StatusText(ServiceStatus status) => status switch
    {
        ServiceStatus.RolledBack => "rolled-back",
        _ => status.ToString().ToLowerInvariant(),
    };

    internal static string? Blank(string? value) =>
        string.IsNullOrWhiteSpace(value) || value is "null" or "none" or "new" ? null : value;
}
