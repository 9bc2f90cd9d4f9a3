namespace InfraRelocation.Core.Yaml;

/// <summary>
/// Shares equal short strings read from one text: a large estate file repeats the same keys (<c>service</c>,
/// <c>to_host</c>) and many of the same values (statuses, host names) tens of thousands of times, and the records
/// keep them. A fixed table of the last string seen per hash slot: a miss just makes a new string, so it never
/// grows and costs one hash per scalar.
/// </summary>
internal sealed class StringPool
{
    private const int Slots = 4096; // a power of two
    private const int MaxLength = 48;
    private readonly string?[] _slots = new string?[Slots];

    public string Get(string text, int start, int end)
    {
        var chars = text.AsSpan(start, end - start);
        if (chars.Length > MaxLength)
        {
            return new string(chars);
        }
        var hash = 0;
        foreach (var c in chars)
        {
            hash = (hash * 31) + c;
        }
        ref var slot = ref _slots[hash & (Slots - 1)];
        if (slot is not null && chars.SequenceEqual(slot))
        {
            return slot;
        }
        return slot = new string(chars);
    }
}
