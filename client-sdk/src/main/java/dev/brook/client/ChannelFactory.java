package dev.brook.client;

import io.grpc.ManagedChannel;

/** Opens the channel to one broker address (host:port). Tests plug in in-process channels. */
@FunctionalInterface
interface ChannelFactory {
  ManagedChannel open(String address);
}
