namespace InfraRelocation.Model;

/// <summary>
/// Base of every typed entry read from a protocol file. Keeps where the entry and each of its fields were
/// read (so findings can name <c>file:line:column</c>) and any fields the module does not know, which are
/// kept and ignored rather than rejected.
/// </summary>
public abstract record ModelEntry
{
    private static readonly IReadOnlyDictionary<string, SourceLocation> s_noLocations = new Dictionary<string, SourceLocation>();
    private static readonly IReadOnlyDictionary<string, object?> s_noExtra = new Dictionary<string, object?>();

    /// <summary>Where the entry itself starts (the mapping or list item).</summary>
    public SourceLocation? Location { get; init; }

    /// <summary>Where each field's value was read, by its YAML key (e.g. <c>to_host</c>).</summary>
    public IReadOnlyDictionary<string, SourceLocation> FieldLocations { get; init; } = s_noLocations;

    /// <summary>Fields present in the file that the module does not interpret, by YAML key.</summary>
    public IReadOnlyDictionary<string, object?> Extra { get; init; } = s_noExtra;

    /// <summary>The location of a field's value, else of the entry.</summary>
    public SourceLocation? LocationOf(string yamlKey) =>
        FieldLocations.TryGetValue(yamlKey, out var location) ? location : Location;
}
