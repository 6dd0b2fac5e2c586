package dev.brook.client;

/** A broker registered in the cluster. {@code fenced}: its lease expired, it leads nothing. */
public record BrokerNode(int id, String address, String rack, boolean fenced) {}
