namespace InfraRelocation.Core.Persistence;

/// <summary>How the new value of a <see cref="YamlEdit"/> is to be typed.</summary>
public enum YamlValueKind
{
    /// <summary>A string: written plain when that still reads back as the same string, else quoted.</summary>
    String,
    /// <summary>YAML null (written as <c>null</c>).</summary>
    Null,
    /// <summary>A plain token written as is (a number, a boolean); must be a valid plain scalar.</summary>
    Literal,
}

/// <summary>
/// One scalar edit addressed by a document path: <c>a.b</c>, <c>items[3].c</c>,
/// <c>vm_targets[?hostname=app-core].tailscale_ip</c>. When the last key is missing from its block or flow
/// mapping the key is added; a missing intermediate node is an error.
/// </summary>
/// <param name="Path">The document path of the scalar.</param>
/// <param name="Value">The new value (ignored for <see cref="YamlValueKind.Null"/>).</param>
/// <param name="Kind">How the value is typed.</param>
/// <param name="Expected">
/// Compare-and-swap guard: when set, the current value must equal it (use <see cref="ExpectAbsent"/> for
/// "missing or null"), else the edit fails with <c>EstateValueChanged</c>.
/// </param>
public sealed record YamlEdit(string Path, string? Value, YamlValueKind Kind = YamlValueKind.String, string? Expected = null)
{
    /// <summary>Expected value meaning "the key is missing, empty or null".</summary>
    public const string ExpectAbsent = "\u0000absent";

    public static YamlEdit Set(string path, string value, string? expected = null) => new(path, value, YamlValueKind.String, expected);

    public static YamlEdit SetNull(string path, string? expected = null) => new(path, null, YamlValueKind.Null, expected);

    public static YamlEdit SetLiteral(string path, string token, string? expected = null) => new(path, token, YamlValueKind.Literal, expected);
}

/// <summary>The outcome of applying edits to one file.</summary>
/// <param name="Bytes">The new file content (identical to the input outside the edited value bytes).</param>
/// <param name="Diff">A unified diff (empty when nothing changes), for -WhatIf previews.</param>
/// <param name="Changed">False when every edit wrote the value already present byte for byte.</param>
/// <param name="OldValues">The previous value of each edited path (null when missing or null), in edit order.</param>
public sealed record YamlEditResult(byte[] Bytes, string Diff, bool Changed, IReadOnlyList<string?> OldValues);
