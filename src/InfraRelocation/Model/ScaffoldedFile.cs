namespace InfraRelocation.Model;

/// <summary>What New-RelocationEstate did with one file of a new estate.</summary>
public enum ScaffoldOutcome
{
    /// <summary>The file was written.</summary>
    Created,
    /// <summary>A file was there already and was left as it is.</summary>
    Kept,
    /// <summary>-WhatIf (or a declined confirmation): the file would be written.</summary>
    WouldCreate,
}

/// <summary>One file of an estate scaffolded by New-RelocationEstate.</summary>
public sealed record ScaffoldedFile
{
    public required ScaffoldOutcome Outcome { get; init; }
    /// <summary>Path relative to the estate root.</summary>
    public required string Path { get; init; }
    public required string FullPath { get; init; }
    /// <summary>The estate root (the folder given to -Path).</summary>
    public required string Root { get; init; }
}
